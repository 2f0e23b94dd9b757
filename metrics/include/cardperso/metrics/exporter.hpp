#pragma once
// A program's Prometheus endpoint: prometheus-cpp's Exposer (its own small HTTP server, two threads)
// serving GET /metrics from one registry, which already holds cardperso_build_info{program, version} 1.
// The program registers its own families on registry(); prometheus-cpp's metrics are atomic, so the
// program's threads update them while the exposer's threads read them.
#include <prometheus/registry.h>

#include <memory>
#include <string_view>

#include "cardperso/common/result.hpp"
#include "cardperso/net/endpoint.hpp"

namespace prometheus {
class Exposer;
}

namespace cardperso::metrics {

class Exporter {
 public:
  // Binds `listen` and serves; fails when the address cannot be bound. `program` names the build info.
  static Result<std::unique_ptr<Exporter>> start(const net::Endpoint& listen, std::string_view program);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  prometheus::Registry& registry() { return *registry_; }
  // The address actually bound (port 0 picks one).
  const net::Endpoint& endpoint() const { return endpoint_; }

 private:
  Exporter() = default;
  // Declared first so it is destroyed last: the exposer's threads stop before the registry goes.
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::unique_ptr<prometheus::Exposer> exposer_;
  net::Endpoint endpoint_;
};

}  // namespace cardperso::metrics
