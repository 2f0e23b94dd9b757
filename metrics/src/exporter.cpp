#include "cardperso/metrics/exporter.hpp"

#include <prometheus/exposer.h>
#include <prometheus/gauge.h>

#include <string>

#include "cardperso/cli/version.hpp"

namespace cardperso::metrics {

namespace pm = prometheus;

Result<std::unique_ptr<Exporter>> Exporter::start(const net::Endpoint& listen, std::string_view program) {
  std::unique_ptr<Exporter> e(new Exporter());
  // civetweb wants IPv6 literals in brackets, as Endpoint::to_string writes them.
  try {
    e->exposer_ = std::make_unique<pm::Exposer>(listen.to_string(), 2);
  } catch (const std::exception& ex) {
    return fail(Errc::Unavailable, "cannot serve metrics on " + listen.to_string() + ": " + ex.what() +
                                       "; is the port in use? (--metrics-listen)");
  }
  e->exposer_->RegisterCollectable(e->registry_);
  const auto ports = e->exposer_->GetListeningPorts();
  e->endpoint_ = net::Endpoint{listen.host, ports.empty() ? listen.port : static_cast<std::uint16_t>(ports.front())};
  // One name for every program, told apart by `program`: one query lists what runs where, at which version.
  pm::BuildGauge()
      .Name("cardperso_build_info")
      .Help("The program and its version (always 1)")
      .Register(*e->registry_)
      .Add({{"program", std::string(program)}, {"version", cli::kProjectVersion}})
      .Set(1);
  return e;
}

Exporter::~Exporter() = default;

}  // namespace cardperso::metrics
