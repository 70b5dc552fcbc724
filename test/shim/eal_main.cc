/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * main() for suites that need EAL: starts it once without hugepages, PCI
 * or shared config files (--no-shconf; --in-memory refuses --no-huge), with a unique file prefix so suites may run in
 * parallel, then runs every test. EAL still creates its (empty) runtime
 * directory /var/run/dpdk/<prefix>; it is removed once EAL is up, and again
 * at exit, so that a run leaves nothing behind. Extra vdevs come from EF_TEST_VDEVS
 * (comma-separated --vdev arguments) so a suite can ask for ring/null ports.
 */
#include <string>
#include <vector>
#include <unistd.h>
#include <cstdlib>
#include <cstdio>

#include <rte_eal.h>
#include <rte_lcore.h>

#include <gtest/gtest.h>

int
main(int argc, char **argv)
{
	::testing::InitGoogleTest(&argc, argv);

	std::string prefix = "eftest" + std::to_string(getpid());
	std::vector<std::string> args = {
		"eftest", "--no-huge", "--no-pci", "-m", "512",
		"--no-telemetry", "--log-level=lib.*:error", "--no-shconf",
		"--file-prefix=" + prefix,
	};
	const char *lcores = getenv("EF_TEST_LCORES");
	args.push_back(std::string("-l") + (lcores != nullptr ? lcores : "0"));
	const char *vdevs = getenv("EF_TEST_VDEVS");
	if (vdevs != nullptr) {
		std::string v(vdevs);
		size_t pos = 0;
		while (pos < v.size()) {
			size_t semi = v.find(';', pos);
			if (semi == std::string::npos)
				semi = v.size();
			args.push_back("--vdev=" + v.substr(pos, semi - pos));
			pos = semi + 1;
		}
	}
	std::vector<char *> cargs;
	for (auto &a : args)
		cargs.push_back(&a[0]);
	if (rte_eal_init((int)cargs.size(), cargs.data()) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 2;
	}
	/* nothing lives in it (no shared config, no telemetry, no IPC) */
	std::string rundir = rte_eal_get_runtime_dir();
	rmdir(rundir.c_str());
	int rc = RUN_ALL_TESTS();
	rte_eal_cleanup();
	rmdir(rundir.c_str());
	return rc;
}
