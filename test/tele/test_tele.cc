/* SPDX-License-Identifier: BSD-3-Clause */
#include <cerrno>
#include <cstdint>

#include <gtest/gtest.h>

#include "ef_tele.h"

TEST(Tele, ParseUint)
{
	uint32_t v = 7;

	EXPECT_EQ(ef_tele_parse_uint(nullptr, 16, 64, &v), 0);
	EXPECT_EQ(v, 16u);
	EXPECT_EQ(ef_tele_parse_uint("", 3, 64, &v), 0);
	EXPECT_EQ(v, 3u);
	EXPECT_EQ(ef_tele_parse_uint("64", 0, 64, &v), 0);
	EXPECT_EQ(v, 64u);
	EXPECT_EQ(ef_tele_parse_uint("65", 0, 64, &v), -EINVAL);
	EXPECT_EQ(ef_tele_parse_uint("-1", 0, 64, &v), -EINVAL);
	EXPECT_EQ(ef_tele_parse_uint("1x", 0, 64, &v), -EINVAL);
	EXPECT_EQ(ef_tele_parse_uint(" 1", 0, 64, &v), -EINVAL);
	EXPECT_EQ(ef_tele_parse_uint("99999999999999999999", 0, UINT32_MAX,
				     &v), -EINVAL);
}

TEST(Tele, ParseService)
{
	char name[32];
	uint32_t off = 9;

	EXPECT_EQ(ef_tele_parse_service("demo/web", name, sizeof(name), &off),
		  0);
	EXPECT_STREQ(name, "demo/web");
	EXPECT_EQ(off, 0u);
	EXPECT_EQ(ef_tele_parse_service("demo/web,32", name, sizeof(name),
					&off), 0);
	EXPECT_STREQ(name, "demo/web");
	EXPECT_EQ(off, 32u);
	EXPECT_EQ(ef_tele_parse_service("demo/web,", name, sizeof(name), &off),
		  -EINVAL);
	EXPECT_EQ(ef_tele_parse_service("demo/web,x", name, sizeof(name),
					&off), -EINVAL);
	EXPECT_EQ(ef_tele_parse_service("noslash", name, sizeof(name), &off),
		  -EINVAL);
	EXPECT_EQ(ef_tele_parse_service("", name, sizeof(name), &off),
		  -EINVAL);
	EXPECT_EQ(ef_tele_parse_service(nullptr, name, sizeof(name), &off),
		  -EINVAL);
	EXPECT_EQ(ef_tele_parse_service("a/0123456789012345678901234567890",
					name, sizeof(name), &off), -EINVAL);
}
