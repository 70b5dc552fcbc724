#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
#
# Helpers of bench/sysbench.sh --cpu (standard library only):
#
#   sysbench_cpu.py lcores SOCKET
#       edgefwd's /edgefwd/lcores over the DPDK telemetry socket
#       (SOCKET = /var/run/dpdk/<file-prefix>/dpdk_telemetry.v2), summed
#       over the workers: "busy_cycles total_cycles rx_packets"
#   sysbench_cpu.py threads PID CPU
#       the threads of process PID: "ticks ns wait_ns": ticks = utime +
#       stime (clock ticks, sampled) and ns = run time (nanoseconds,
#       /proc/PID/task/TID/schedstat, 1st field) of the threads allowed
#       to run on CPU (the control threads: EAL pins them to the main
#       lcore's CPU); wait_ns = the time the other threads (the workers,
#       pinned elsewhere) spent runnable but not running (schedstat, 2nd
#       field): how much other load preempted the workers
#   sysbench_cpu.py kthreads CPU SNAPSHOT
#       the run time (ns) of the kernel threads bound to CPU alone
#       (ksoftirqd/N, kworker/N:*, ...): kernel work on CPU outside the
#       generator's context. The first call writes SNAPSHOT and prints
#       0; the second prints the run time since, per thread (a thread
#       that came meanwhile counts from 0, one that ended drops out)
#   sysbench_cpu.py tsc-hz
#       the TSC's frequency, measured: rdtsc against CLOCK_MONOTONIC_RAW
#       over 0.5 s (x86-64 only); prints 0 when it cannot
import ctypes
import json
import mmap
import os
import socket
import sys
import time


def lcores(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(path)
    hello = json.loads(s.recv(65536).decode())
    s.send(b"/edgefwd/lcores")
    reply = json.loads(s.recv(int(hello.get("max_output_len", 16384)) + 1024)
                       .decode())
    s.close()
    busy = total = rx = 0
    for w in reply["/edgefwd/lcores"].values():
        busy += w["busy_cycles"]
        total += w["total_cycles"]
        rx += w["rx_packets"]
    print(busy, total, rx)


def cpus(text):
    out = set()
    for part in text.strip().split(","):
        if "-" in part:
            a, b = part.split("-")
            out.update(range(int(a), int(b) + 1))
        elif part:
            out.add(int(part))
    return out


def threads(pid, cpu):
    ticks = ns = wait = 0
    base = "/proc/%s/task" % pid
    for tid in os.listdir(base):
        try:
            with open("%s/%s/stat" % (base, tid)) as f:
                st = f.read()
            with open("%s/%s/status" % (base, tid)) as f:
                allowed = [l.split(":", 1)[1] for l in f
                           if l.startswith("Cpus_allowed_list:")][0]
            with open("%s/%s/schedstat" % (base, tid)) as f:
                sched = f.read().split()
        except (OSError, IndexError):
            continue  # the thread ended meanwhile
        # fields after the command, which may hold spaces and ')'
        f = st[st.rindex(")") + 2:].split()
        if cpu in cpus(allowed):
            ticks += int(f[11]) + int(f[12])  # utime, stime (14, 15)
            ns += int(sched[0])
        else:
            wait += int(sched[1])
    print(ticks, ns, wait)


def kthreads(cpu, snapshot):
    now = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                st = f.read()
            # PF_KTHREAD (0x00200000) in the flags, field 9
            if not int(st[st.rindex(")") + 2:].split()[6]) & 0x00200000:
                continue
            with open("/proc/%s/status" % pid) as f:
                allowed = [l.split(":", 1)[1] for l in f
                           if l.startswith("Cpus_allowed_list:")][0]
            if cpus(allowed) != {cpu}:
                continue
            with open("/proc/%s/schedstat" % pid) as f:
                now[pid] = int(f.read().split()[0])
        except (OSError, IndexError, ValueError):
            continue
    if not os.path.exists(snapshot):
        with open(snapshot, "w") as f:
            json.dump(now, f)
        print(0)
        return
    with open(snapshot) as f:
        then = json.load(f)
    os.unlink(snapshot)
    print(sum(ns - then.get(pid, 0) for pid, ns in now.items()))


def tsc_hz():
    # rdtsc; shl $32, %rdx; or %rdx, %rax; ret
    code = b"\x0f\x31\x48\xc1\xe2\x20\x48\x09\xd0\xc3"
    try:
        if os.uname().machine != "x86_64":
            raise OSError("not x86-64")
        buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ |
                        mmap.PROT_WRITE | mmap.PROT_EXEC)
        buf.write(code)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
        rdtsc = ctypes.CFUNCTYPE(ctypes.c_uint64)(addr)
        best = []
        for _ in range(3):
            t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC_RAW)
            c0 = rdtsc()
            time.sleep(0.5 / 3)
            t1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC_RAW)
            c1 = rdtsc()
            best.append((c1 - c0) * 1e9 / (t1 - t0))
        best.sort()
        print("%.0f" % best[1])
    except (OSError, ValueError, TypeError, AttributeError):
        print(0)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "lcores":
        lcores(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "threads":
        threads(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "kthreads":
        kthreads(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) == 2 and sys.argv[1] == "tsc-hz":
        tsc_hz()
    else:
        sys.exit("usage: sysbench_cpu.py lcores SOCKET | threads PID CPU "
                 "| kthreads CPU SNAPSHOT | tsc-hz")


if __name__ == "__main__":
    main()
