/* SPDX-License-Identifier: MIT */
#pragma once

/* <base>/health: what the daemon has seen and done since start, as one JSON object, and the same
 * in one line for systemd's STATUS=. Pure formatting: daemon.c gathers the numbers. */

#include <stddef.h>
#include <stdint.h>

#include "mqtt.h"

struct health {
	uint64_t uptime_s;
	unsigned long long edges_seen; /* edge events handled */
	unsigned long long edges_lost; /* edges the kernel dropped (from its sequence numbers) */
	unsigned long long config_generation; /* 1 at start, +1 per applied reload */
	struct mqtt_stats mqtt;
};

/* {"uptime_s":12,"edges_seen":3,...}; -ENOSPC when it does not fit, -ENOMEM. */
int health_json(const struct health *h, char *buf, size_t size);
/* "edges 3 (0 lost); publishes 10 acknowledged, 0 failed, 0 denied; 1 reconnect; queue 0;
 * config generation 1" */
int health_summary(const struct health *h, char *buf, size_t size);
