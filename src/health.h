/* SPDX-License-Identifier: MIT */
#pragma once

/* <base>/health: what the daemon has seen and done since start, as one JSON object, and the same
 * in one line for systemd's STATUS=. daemon.c counts, health_gather() adds the connection's
 * counters. */

#include <stddef.h>
#include <stdint.h>

#include "mqtt.h"

struct health {
	uint64_t uptime_s;
	unsigned long long edges_seen; /* edge events handled */
	unsigned long long edges_lost; /* edges the kernel dropped (from its sequence numbers) */
	unsigned long long config_generation; /* 1 at start, +1 per applied reload */
	struct mqtt_stats mqtt;
	/* each counter's edges lost, {"electricity":0,...} (src/meters.h); "": no counters.
	 * Reported as "counters_edges_lost". */
	char counters_edges_lost[256];
};

/* What the daemon counts for the report, since start. */
struct health_counters {
	uint64_t started_ms;                  /* CLOCK_MONOTONIC at start */
	unsigned long long edges_seen;
	unsigned long long edges_lost;
	unsigned long long config_generation; /* 1 at start, +1 per applied reload */
	struct mqtt_stats mqtt_before;        /* of mqtt objects replaced by reloads */
};

/* The report from C and the connection MQTT (NULL: none now) at NOW_MS (CLOCK_MONOTONIC);
 * the MQTT counters count since start, across the connections reloads replaced. */
void health_gather(struct health *h, const struct health_counters *c, struct mqtt *mqtt,
		   uint64_t now_ms);

/* {"uptime_s":12,"edges_seen":3,...}; -ENOSPC when it does not fit, -ENOMEM. */
int health_json(const struct health *h, char *buf, size_t size);
/* "edges 3 (0 lost); publishes 10 acknowledged, 0 failed, 0 denied; 1 reconnect; queue 0;
 * config generation 1" */
int health_summary(const struct health *h, char *buf, size_t size);
