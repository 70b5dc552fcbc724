# SPDX-License-Identifier: BSD-3-Clause
"""edgefwd end-to-end suites (run: /usr/bin/python3 -m pytest dts -v)."""
