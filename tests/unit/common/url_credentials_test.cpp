// A connection URL is shown only with its password replaced.
#include <gtest/gtest.h>

#include "cardperso/common/url_credentials.hpp"

namespace cardperso {
namespace {

TEST(UrlCredentials, ThePasswordInTheAuthorityIsHidden) {
  EXPECT_EQ(redact_url_credentials("postgresql://ads:s3cr3t@db.example:5432/ads"),
            "postgresql://ads:***@db.example:5432/ads");
  // An '@' inside the password: the authority ends at the last '@' before the path.
  EXPECT_EQ(redact_url_credentials("postgres://ads:p@ss@db/ads?sslmode=require"), "postgres://ads:***@db/ads?sslmode=require");
}

TEST(UrlCredentials, ThePasswordAsAParameterIsHidden) {
  EXPECT_EQ(redact_url_credentials("postgresql:///ads?host=/run/pg&password=s3cr3t&user=ads"),
            "postgresql:///ads?host=/run/pg&password=***&user=ads");
  EXPECT_EQ(redact_url_credentials("postgresql://db/ads?password=s3cr3t"), "postgresql://db/ads?password=***");
  // Only a parameter named password, not one that ends so.
  EXPECT_EQ(redact_url_credentials("postgresql://db/ads?sslpassword=x"), "postgresql://db/ads?sslpassword=x");
}

TEST(UrlCredentials, WhatHasNoPasswordIsUnchanged) {
  EXPECT_EQ(redact_url_credentials("postgresql://ads@db.example/ads"), "postgresql://ads@db.example/ads");
  EXPECT_EQ(redact_url_credentials("/var/lib/cardperso/ads.db"), "/var/lib/cardperso/ads.db");
  EXPECT_EQ(redact_url_credentials("sqlite:/var/lib/cardperso/ads.db"), "sqlite:/var/lib/cardperso/ads.db");
  EXPECT_EQ(redact_url_credentials("127.0.0.1:7700"), "127.0.0.1:7700");
}

}  // namespace
}  // namespace cardperso
