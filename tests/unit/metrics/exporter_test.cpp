// The exporter on real loopback: the port it reports is the one bound, and a port in use is an error
// value naming the option, not an exception.
#include <gtest/gtest.h>

#include "cardperso/metrics/exporter.hpp"

using cardperso::metrics::Exporter;
using cardperso::net::Endpoint;

TEST(MetricsExporter, PortZeroReportsThePortBound) {
  auto e = Exporter::start(Endpoint{"127.0.0.1", 0}, "test-program");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ((*e)->endpoint().host, "127.0.0.1");
  EXPECT_NE((*e)->endpoint().port, 0);
}

TEST(MetricsExporter, APortInUseIsRefusedWithTheOptionNamed) {
  auto first = Exporter::start(Endpoint{"127.0.0.1", 0}, "test-program");
  ASSERT_TRUE(first) << first.error().message;
  auto second = Exporter::start((*first)->endpoint(), "test-program");
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("--metrics-listen"), std::string::npos) << second.error().message;
}

TEST(MetricsExporter, TheRegistryHoldsTheBuildInfo) {
  auto e = Exporter::start(Endpoint{"127.0.0.1", 0}, "test-program");
  ASSERT_TRUE(e) << e.error().message;
  bool found = false;
  for (const auto& family : (*e)->registry().Collect()) {
    if (family.name != "cardperso_build_info") continue;
    ASSERT_EQ(family.metric.size(), 1u);
    for (const auto& label : family.metric[0].label)
      if (label.name == "program") found = label.value == "test-program";
    EXPECT_EQ(family.metric[0].gauge.value, 1);
  }
  EXPECT_TRUE(found);
}
