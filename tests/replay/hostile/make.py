#!/usr/bin/python3
"""Writes hostile.pcap (classic pcap, Ethernet): FTP control connections from 198.18.1.2 to
203.0.113.2:21 whose PORT commands must open nothing (replayed with ../ftp/fwd.cfg: easy-ip and
`firewall detect ftp`, --ingress 198.18.1.0/24=in0 --ingress 0.0.0.0/0=out0):
  1. PORT naming a third host (198.18.1.99, not the control connection's client);
  2. PORT naming the client itself but port 80 (below 1024);
then the "server" tries the data connections those PORTs asked for, from 203.0.113.2:20 to
the translated address 203.0.113.1: each SYN must be dropped (no server-map entry to let it in).
Crafted with scapy (Debian's python3-scapy): /usr/bin/python3 make.py"""
from scapy.all import Ether, IP, TCP, Raw, wrpcap

C, S, FW = "198.18.1.2", "203.0.113.2", "203.0.113.1"
pkts, t = [], [1700000000.0]


def add(p):
    p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / p
    t[0] += 0.001
    p.time = t[0]
    pkts.append(p)


def control(cport, line):
    cseq, sseq = 1000, 5000
    add(IP(src=C, dst=S) / TCP(sport=cport, dport=21, flags="S", seq=cseq))
    add(IP(src=S, dst=FW) / TCP(sport=21, dport=cport, flags="SA", seq=sseq, ack=cseq + 1))
    add(IP(src=C, dst=S) / TCP(sport=cport, dport=21, flags="A", seq=cseq + 1, ack=sseq + 1))
    hello = b"220 ready\r\n"
    add(IP(src=S, dst=FW) / TCP(sport=21, dport=cport, flags="PA", seq=sseq + 1, ack=cseq + 1) / Raw(hello))
    sseq += len(hello)
    add(IP(src=C, dst=S) / TCP(sport=cport, dport=21, flags="PA", seq=cseq + 1, ack=sseq + 1) / Raw(line))
    add(IP(src=S, dst=FW) / TCP(sport=21, dport=cport, flags="A", seq=sseq + 1, ack=cseq + 1 + len(line)))


control(40001, b"PORT 198,18,1,99,195,80\r\n")  # third host, port 50000
control(40002, b"PORT 198,18,1,2,0,80\r\n")  # the client, port 80
for dport in (50000, 80):
    add(IP(src=S, dst=FW) / TCP(sport=20, dport=dport, flags="S", seq=9000))
wrpcap("hostile.pcap", pkts)
