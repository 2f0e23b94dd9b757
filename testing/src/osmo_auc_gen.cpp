#include "cardperso/testing/osmo_auc_gen.hpp"

#include <sstream>
#include <stdexcept>

#include "cardperso/testing/run_program.hpp"

namespace cardperso::testing {

namespace {

Bytes* field_named(AucGenVector& v, const std::string& name) {
  if (name == "RAND") return &v.rand;
  if (name == "AUTN") return &v.autn;
  if (name == "IK") return &v.ik;
  if (name == "CK") return &v.ck;
  if (name == "RES") return &v.res;
  if (name == "SRES") return &v.sres;
  if (name == "Kc") return &v.kc;
  return nullptr;
}

std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

}  // namespace

Result<AucGenVector> parse_osmo_auc_gen_output(const std::string& text) {
  AucGenVector v;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    Bytes* field = field_named(v, trimmed(line.substr(0, colon)));
    if (field == nullptr) continue;
    auto value = from_hex(trimmed(line.substr(colon + 1)));
    if (!value || value->empty()) return fail(Errc::Corrupt, "osmo-auc-gen printed a line that is not hex: " + line);
    *field = std::move(*value);
  }
  if (v.sres.size() != 4 || v.kc.size() != 8)
    return fail(Errc::Corrupt, "osmo-auc-gen printed no 4-byte SRES and 8-byte Kc; its output was:\n" + text);
  return v;
}

Result<AucGenVector> osmo_auc_gen_milenage(ByteView k, ByteView opc, ByteView rand) {
  ProcessSpec spec;
  spec.argv = {"osmo-auc-gen", "-3", "-a", "milenage", "-k", to_hex(k), "-o", to_hex(opc), "-r", to_hex(rand)};
  spec.search_path = true;
  spec.err = Stream::same_as_stdout();
  RunResult run;
  try {
    run = run_program(std::move(spec), Millis(10000));
  } catch (const std::runtime_error& e) {
    return fail(Errc::Unavailable, std::string(e.what()) + " (install libosmocore-utils)");
  }
  if (!run.exit_code)
    return fail(Errc::Unavailable, "osmo-auc-gen did not finish within 10 s");
  if (*run.exit_code != 0)
    return fail("osmo-auc-gen failed (" + run.exit_text + "; is libosmocore-utils installed?): " + run.out);
  return parse_osmo_auc_gen_output(run.out);
}

}  // namespace cardperso::testing
