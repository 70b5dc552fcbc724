# SPDX-License-Identifier: BSD-3-Clause
"""The stand-in Kubernetes API server and fixtures of edgefwd-k8s's tests."""
