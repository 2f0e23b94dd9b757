#include "cardperso/ads/store/database_copy.hpp"

#include <algorithm>
#include <set>
#include <string_view>

namespace cardperso::ads {

namespace {

// Table and column names go into the SQL text (a name cannot be a bound parameter). They come from
// the source's own schema; anything but a plain identifier is refused rather than trusted.
bool plain_identifier(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
  });
}

std::string quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

struct TableShape {
  std::string name;
  std::vector<std::string> columns;
  // The column that is SQLite's rowid alias (`INTEGER PRIMARY KEY`), an identity column on
  // PostgreSQL whose sequence must be moved past the copied ids; empty when the table has none.
  std::string identity_column;
};

Result<TableShape> shape_of(Database& source, const std::string& table) {
  struct ColumnInfo {
    std::string name, type;
    std::int64_t pk;
  };
  auto columns = source.read_rows(
      "SELECT name, upper(type), pk FROM pragma_table_info(?1) ORDER BY cid", "migrate: read the columns of " + table,
      [](const Statement& s) { return ColumnInfo{s.column_text(0), s.column_text(1), s.column_int(2)}; }, table);
  if (!columns) return columns.error();
  if (columns->empty()) {
    return fail("migrate: table " + table + " of the source has no columns; check the source with `adsctl status`");
  }
  TableShape shape{table, {}, {}};
  int key_columns = 0;
  std::string integer_key;
  for (const auto& c : *columns) {
    if (!plain_identifier(c.name)) {
      return fail("migrate: column \"" + c.name + "\" of table " + table +
                  " is not a name the ADS schema uses; the source was changed by hand: restore it from a backup");
    }
    shape.columns.push_back(c.name);
    if (c.pk > 0) {
      ++key_columns;
      if (c.type == "INTEGER") integer_key = c.name;
    }
  }
  if (key_columns == 1) shape.identity_column = integer_key;
  return shape;
}

// A row's values are read with typeof() beside each one: the bind follows the value's own SQLite
// type, so NULLs stay NULL and blobs are never turned into text.
Result<std::int64_t> copy_table(Database& source, Database& target, const TableShape& shape) {
  std::string select = "SELECT ";
  std::string insert = "INSERT INTO " + quoted(shape.name) + " (";
  std::string values;
  for (std::size_t i = 0; i < shape.columns.size(); ++i) {
    const std::string column = quoted(shape.columns[i]);
    const std::string separator = i == 0 ? "" : ", ";
    select += separator + "typeof(" + column + "), " + column;
    insert += separator + column;
    values += separator + "?" + std::to_string(i + 1);
  }
  select += " FROM " + quoted(shape.name);
  insert += ") VALUES (" + values + ")";

  auto rows = source.prepare(select, "migrate: read table " + shape.name);
  if (!rows) return rows.error();
  std::int64_t copied = 0;
  for (;;) {
    auto row = rows->step();
    if (!row) return row.error();
    if (!*row) return copied;
    auto insert_row = target.prepare(insert, "migrate: insert into table " + shape.name);
    if (!insert_row) return insert_row.error();
    for (std::size_t i = 0; i < shape.columns.size(); ++i) {
      const int type_at = static_cast<int>(2 * i);
      const int value_at = type_at + 1;
      const int param = static_cast<int>(i + 1);
      const std::string type = rows->column_text(type_at);
      if (type == "integer") {
        insert_row->bind(param, rows->column_int(value_at));
      } else if (type == "text") {
        // PostgreSQL text cannot hold NUL, and a text parameter would silently end at the first one.
        std::string text = rows->column_text(value_at);
        if (text.find('\0') != std::string::npos) {
          return fail("migrate: column " + shape.columns[i] + " of table " + shape.name + " holds text with a NUL "
                      "character, which PostgreSQL cannot store and the ADS never writes; the source was changed by "
                      "hand: restore it from a backup");
        }
        insert_row->bind(param, text);
      } else if (type == "blob") {
        insert_row->bind(param, rows->column_blob(value_at));
      } else if (type == "null") {
        insert_row->bind_null(param);
      } else {
        return fail("migrate: column " + shape.columns[i] + " of table " + shape.name + " holds a value of type " + type +
                    ", which the ADS schema never stores; the source was changed by hand: restore it from a backup");
      }
    }
    if (auto done = insert_row->run(); !done) return done.error();
    ++copied;
  }
}

// Sets the sequence so that its next value is one past the highest copied id. A column that is not
// an identity column on the target has no sequence: pg_get_serial_sequence gives NULL and setval(NULL)
// does nothing.
Result<void> move_identity_sequence(Database& target, const TableShape& shape) {
  if (shape.identity_column.empty()) return {};
  const std::string column = quoted(shape.identity_column);
  return target.run("SELECT setval(pg_get_serial_sequence(?1, ?2), coalesce(max(" + column + "), 0) + 1, false) FROM " +
                        quoted(shape.name),
                    "migrate: set the identity sequence of " + shape.name, shape.name, shape.identity_column);
}

}  // namespace

Result<std::vector<std::string>> tables_in_copy_order(Database& sqlite_source) {
  if (sqlite_source.backend() != Backend::Sqlite) {
    return fail("migrate: the source must be a SQLite ADS database (a file path or sqlite:PATH)");
  }
  auto names = sqlite_source.read_rows(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
      "migrate: list the source's tables", [](const Statement& s) { return s.column_text(0); });
  if (!names) return names.error();
  const std::set<std::string> all(names->begin(), names->end());
  std::vector<std::pair<std::string, std::set<std::string>>> pending;
  for (const auto& name : *names) {
    if (!plain_identifier(name)) {
      return fail("migrate: table \"" + name + "\" is not a name the ADS schema uses; the source was changed by hand: "
                  "restore it from a backup");
    }
    auto parents = sqlite_source.read_rows("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1)",
                                           "migrate: read the foreign keys of " + name,
                                           [](const Statement& s) { return s.column_text(0); }, name);
    if (!parents) return parents.error();
    std::set<std::string> within;
    for (const auto& parent : *parents) {
      // A self-reference orders nothing; a reference outside the list cannot be satisfied by ordering.
      if (parent != name && all.contains(parent)) within.insert(parent);
    }
    pending.emplace_back(name, std::move(within));
  }
  std::vector<std::string> order;
  std::set<std::string> placed;
  while (!pending.empty()) {
    // Each round places every table whose parents are all placed, in name order (a stable result).
    std::vector<std::string> ready;
    for (const auto& [name, parents] : pending) {
      if (std::includes(placed.begin(), placed.end(), parents.begin(), parents.end())) ready.push_back(name);
    }
    if (ready.empty()) {
      std::string stuck;
      for (const auto& entry : pending) stuck += (stuck.empty() ? "" : ", ") + entry.first;
      return fail("migrate: the foreign keys of tables " + stuck + " refer to each other in a cycle, so no copy order "
                  "exists; this schema is not one adsctl made");
    }
    for (const auto& name : ready) {
      order.push_back(name);
      placed.insert(name);
    }
    std::erase_if(pending, [&placed](const auto& entry) { return placed.contains(entry.first); });
  }
  return order;
}

Result<std::vector<TableRows>> count_rows(Database& db, const std::vector<std::string>& tables) {
  std::vector<TableRows> counts;
  for (const auto& table : tables) {
    if (!plain_identifier(table)) return fail("migrate: \"" + table + "\" is not a table name the ADS schema uses");
    auto rows = db.read_row("SELECT count(*) FROM " + quoted(table),
                            "migrate: count the rows of " + table + " in " + db.path(),
                            [](const Statement& s) { return s.column_int(0); });
    if (!rows) return rows.error();
    counts.push_back({table, rows->value_or(0)});
  }
  return counts;
}

Result<std::vector<TableRows>> copy_ads_tables(Database& sqlite_source, Database& postgres_target) {
  if (postgres_target.backend() != Backend::Postgres) {
    return fail("migrate: the target must be a PostgreSQL database (a postgresql:// URL)");
  }
  auto order = tables_in_copy_order(sqlite_source);
  if (!order) return order.error();
  std::vector<TableShape> shapes;
  for (const auto& table : *order) {
    auto shape = shape_of(sqlite_source, table);
    if (!shape) return shape.error();
    shapes.push_back(std::move(shape).value());
  }
  auto source_counts = count_rows(sqlite_source, *order);
  if (!source_counts) return source_counts.error();

  return postgres_target.with_transaction([&]() -> Result<std::vector<TableRows>> {
    // The target was created empty just before, but another program may have written to it since.
    auto before = count_rows(postgres_target, *order);
    if (!before) return before.error();
    for (const auto& t : *before) {
      if (t.rows != 0) {
        return fail("migrate: table " + t.table + " of " + postgres_target.path() + " already holds " +
                    std::to_string(t.rows) + " rows; migrate copies only into a new, empty database (createdb one)");
      }
    }
    std::vector<TableRows> copied;
    for (const auto& shape : shapes) {
      auto rows = copy_table(sqlite_source, postgres_target, shape);
      if (!rows) return rows.error();
      copied.push_back({shape.name, *rows});
      if (auto moved = move_identity_sequence(postgres_target, shape); !moved) return moved.error();
    }
    // Checked before COMMIT, so that a copy that came out short leaves nothing behind either.
    auto after = count_rows(postgres_target, *order);
    if (!after) return after.error();
    for (std::size_t i = 0; i < copied.size(); ++i) {
      const auto expected = (*source_counts)[i].rows;
      if (copied[i].rows != expected || (*after)[i].rows != expected) {
        return fail("migrate: table " + copied[i].table + " has " + std::to_string(expected) + " rows in the source but " +
                    std::to_string((*after)[i].rows) + " in the target after the copy; nothing was committed. Stop "
                    "every ads-server and adsctl using the source and run migrate again");
      }
    }
    return copied;
  });
}

}  // namespace cardperso::ads
