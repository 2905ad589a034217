#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# The publisher a tutorial reader would write with Debian's python3-paho-mqtt (1.6): connect,
# loop_start(), publish each reading. Used by tests/bench/host-throughput.
#   paho-loop.py PORT TOPIC QOS N
import sys
import time

import paho.mqtt.client as mqtt

port, topic, qos, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
client = mqtt.Client()
client.max_queued_messages_set(0)
client.connect("127.0.0.1", port)
client.loop_start()
while not client.is_connected():  # publishing before the CONNACK would drop QoS 0 messages
    time.sleep(0.01)
info = None
for i in range(n):
    info = client.publish(topic, "OFF" if i % 2 else "ON", qos=qos)
if info is not None:
    info.wait_for_publish()
client.loop_stop()
client.disconnect()
