/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <gtest/gtest.h>

#include "ef_addr.h"

TEST(Addr, ParseV4AndFormat)
{
	struct ef_addr a;
	char buf[EF_ADDR_STRLEN];

	ASSERT_EQ(0, ef_addr_parse("198.51.100.10", &a));
	EXPECT_EQ(EF_AF_INET4, a.family);
	const uint8_t *b = (const uint8_t *)&a.v4;
	EXPECT_EQ(198, b[0]);
	EXPECT_EQ(10, b[3]);
	EXPECT_STREQ("198.51.100.10", ef_addr_fmt(&a, buf, sizeof(buf)));
	EXPECT_TRUE(ef_addr_eq(&a, &a));
}

TEST(Addr, ParseV6)
{
	struct ef_addr a;
	char buf[EF_ADDR_STRLEN];

	ASSERT_EQ(0, ef_addr_parse("2001:db8::1", &a));
	EXPECT_EQ(EF_AF_INET6, a.family);
	EXPECT_STREQ("2001:db8::1", ef_addr_fmt(&a, buf, sizeof(buf)));
}

/* RFC 5952 section 4 and 5: one canonical text per address. */
TEST(Addr, FormatV6Rfc5952)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1" },
		{ "::", "::" },
		{ "::1", "::1" },
		{ "1::", "1::" },
		{ "1:0:0:0:0:0:0:2", "1::2" },
		/* a single zero group is not compressed (4.2.2) */
		{ "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" },
		/* the longest run (4.2.3) */
		{ "2001:0:0:1:0:0:0:1", "2001:0:0:1::1" },
		/* leftmost on a tie (4.2.3) */
		{ "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },
		{ "0:0:1:0:0:1:0:0", "::1:0:0:1:0:0" },
		/* leading zeros dropped, lowercase (4.1, 4.3) */
		{ "2001:DB8:00AB:0C:ABCD:EF01:2:3", "2001:db8:ab:c:abcd:ef01:2:3" },
		{ "fe80::0001", "fe80::1" },
		{ "ff02::1:ff00:1", "ff02::1:ff00:1" },
		/* dotted tail for IPv4-mapped only (5) */
		{ "::ffff:192.0.2.1", "::ffff:192.0.2.1" },
		{ "::192.0.2.1", "::c000:201" },
		{ "64:ff9b::192.0.2.1", "64:ff9b::c000:201" },
		{ "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8" },
		{ "0:1:2:3:4:5:6:7", "0:1:2:3:4:5:6:7" },
		{ "1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
	};
	struct ef_addr a;
	char buf[EF_ADDR_STRLEN];

	for (const auto &c : cases) {
		ASSERT_EQ(0, ef_addr_parse(c.in, &a)) << c.in;
		EXPECT_STREQ(c.out, ef_addr_fmt(&a, buf, sizeof(buf))) << c.in;
	}
	/* a short buffer is truncated, still NUL-terminated */
	ASSERT_EQ(0, ef_addr_parse("2001:db8::1", &a));
	ef_addr_fmt(&a, buf, 5);
	EXPECT_STREQ("2001", buf);
}

TEST(Addr, RejectsGarbage)
{
	struct ef_addr a;

	EXPECT_EQ(-EINVAL, ef_addr_parse("10.0.0.256", &a));
	EXPECT_EQ(-EINVAL, ef_addr_parse("", &a));
	EXPECT_EQ(-EINVAL, ef_addr_parse("10.0.0.1/24", &a));
	EXPECT_EQ(-EINVAL, ef_addr_parse(nullptr, &a));
}

TEST(Addr, Prefix)
{
	struct ef_addr a;
	uint8_t len;

	ASSERT_EQ(0, ef_prefix_parse("10.0.0.1/24", true, &a, &len));
	EXPECT_EQ(24, len);
	EXPECT_EQ(-ERANGE, ef_prefix_parse("10.0.0.1/24", false, &a, &len));
	EXPECT_EQ(0, ef_prefix_parse("10.244.1.0/24", false, &a, &len));
	EXPECT_EQ(-ERANGE, ef_prefix_parse("10.0.0.0/33", true, &a, &len));
	EXPECT_EQ(-EINVAL, ef_prefix_parse("10.0.0.0", true, &a, &len));
	EXPECT_EQ(-EINVAL, ef_prefix_parse("10.0.0.0/x", true, &a, &len));
	EXPECT_EQ(-EINVAL, ef_prefix_parse("10.0.0.0/24x", true, &a, &len));
	EXPECT_EQ(0, ef_prefix_parse("2001:db8::/32", false, &a, &len));
	EXPECT_EQ(-ERANGE, ef_prefix_parse("2001:db8::1/64", false, &a, &len));
	EXPECT_EQ(0, ef_prefix_parse("0.0.0.0/0", false, &a, &len));
}

TEST(Addr, InPrefixAndOrder)
{
	struct ef_addr a, p, b;

	ASSERT_EQ(0, ef_addr_parse("10.244.1.7", &a));
	ASSERT_EQ(0, ef_addr_parse("10.244.1.0", &p));
	ASSERT_EQ(0, ef_addr_parse("10.244.2.1", &b));
	EXPECT_TRUE(ef_addr_in_prefix(&a, &p, 24));
	EXPECT_FALSE(ef_addr_in_prefix(&b, &p, 24));
	EXPECT_TRUE(ef_addr_in_prefix(&b, &p, 16));
	EXPECT_TRUE(ef_addr_in_prefix(&b, &p, 0));
	EXPECT_LT(ef_addr_cmp(&a, &b), 0);
	EXPECT_GT(ef_addr_cmp(&b, &a), 0);
	struct ef_addr h = ef_addr_v4(0x0af40107);
	EXPECT_TRUE(ef_addr_eq(&h, &a));
}
