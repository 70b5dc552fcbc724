# SPDX-License-Identifier: BSD-3-Clause
"""Fixtures of edgefwd-k8s's tests: the YAML files of fixtures/ and
generated objects of the same shape (kubectl get -o yaml): a service of
many endpoints in slices of 100 (the EndpointSlice controller's default
--max-endpoints-per-slice), and whole clusters for the benchmark."""

import ipaddress
from pathlib import Path

from dts.k8s.apiserver import load_objects

DIR = Path(__file__).resolve().parent / "fixtures"


def load(name):
    """Objects of fixtures/NAME.yaml."""
    return load_objects((DIR / (name + ".yaml")).read_text())


def service(ns, name, cluster_ip, ports, typ="ClusterIP", etp=None,
            hcnp=None, lb_ips=(), ts="2026-11-01T00:00:00Z", **spec):
    s = {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": name, "namespace": ns, "creationTimestamp": ts,
                      "labels": {"app": name}},
         "spec": {"clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
                  "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                  "internalTrafficPolicy": "Cluster", "ports": ports,
                  "selector": {"app": name}, "sessionAffinity": "None",
                  "type": typ},
         "status": {"loadBalancer": {"ingress": [{"ip": ip}
                                                 for ip in lb_ips]}
                    if lb_ips else {}}}
    if etp:
        s["spec"]["externalTrafficPolicy"] = etp
    if hcnp:
        s["spec"]["healthCheckNodePort"] = hcnp
    s["spec"].update(spec)
    return s


def endpoint(addr, node, ready=True, serving=None, terminating=False,
             pod=None, ns="default"):
    return {"addresses": [addr],
            "conditions": {"ready": ready,
                           "serving": ready if serving is None else serving,
                           "terminating": terminating},
            "nodeName": node,
            "targetRef": {"kind": "Pod", "name": pod or "pod-" +
                          addr.replace(".", "-"), "namespace": ns}}


def endpoint_slice(ns, svc, name, endpoints, ports,
                   ts="2026-11-01T00:00:00Z"):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "addressType": "IPv4",
            "metadata": {"name": name, "namespace": ns,
                         "creationTimestamp": ts, "generateName": svc + "-",
                         "labels": {
                             "endpointslice.kubernetes.io/managed-by":
                                 "endpointslice-controller.k8s.io",
                             "kubernetes.io/service-name": svc}},
            "endpoints": endpoints, "ports": ports}


def big_service(n=1500, ns="batch", name="workers", per_slice=100):
    """A ClusterIP service of n endpoints over ceil(n/100) slices."""
    svc = service(ns, name, "10.96.200.1", [
        {"name": "grpc", "port": 9000, "protocol": "TCP",
         "targetPort": "grpc"}])
    base = int(ipaddress.ip_address("10.250.0.0"))
    eps = [endpoint(str(ipaddress.ip_address(base + i + 1)),
                    "node-%d" % (i % 40), ns=ns,
                    pod="%s-6f7d8c9b5-%05d" % (name, i)) for i in range(n)]
    slices = [endpoint_slice(ns, name, "%s-%05x" % (name, j),
                             eps[j * per_slice:(j + 1) * per_slice],
                             [{"name": "grpc", "port": 9000,
                               "protocol": "TCP"}])
              for j in range((n + per_slice - 1) // per_slice)]
    return [svc] + slices


def cluster(n_services, n_endpoints, lb=True):
    """n_services LoadBalancer (or ClusterIP) services of n_endpoints each,
    one slice per service, addresses unique across the cluster."""
    objs = []
    for i in range(n_services):
        ns, name = "ns%d" % (i // 1000), "svc-%d" % i
        cip = str(ipaddress.ip_address(int(ipaddress.ip_address(
            "10.96.0.0")) + 1 + i))
        lbip = str(ipaddress.ip_address(int(ipaddress.ip_address(
            "203.0.0.0")) + 1 + i))
        ports = [{"name": "http", "port": 80, "protocol": "TCP",
                  "targetPort": "http"}]
        if lb:
            # a cluster has room for 2768 node ports: none here
            objs.append(service(ns, name, cip, ports, typ="LoadBalancer",
                                etp="Cluster", lb_ips=[lbip],
                                allocateLoadBalancerNodePorts=False))
        else:
            objs.append(service(ns, name, cip, ports))
        base = int(ipaddress.ip_address("10.128.0.0")) + i * n_endpoints
        objs.append(endpoint_slice(ns, name, name + "-x7k2p", [
            endpoint(str(ipaddress.ip_address(base + j + 1)),
                     "node-%d" % (j % 20), ns=ns) for j in range(n_endpoints)],
            [{"name": "http", "port": 8080, "protocol": "TCP"}]))
    return objs
