/* SPDX-License-Identifier: MIT */
#include "health.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

void health_gather(struct health *h, const struct health_counters *c, struct mqtt *mqtt,
		   uint64_t now_ms)
{
	*h = (struct health){
		.uptime_s = (now_ms - c->started_ms) / 1000ULL,
		.edges_seen = c->edges_seen,
		.edges_lost = c->edges_lost,
		.config_generation = c->config_generation,
	};
	if (mqtt)
		mqtt_stats_get(mqtt, &h->mqtt);
	h->mqtt.acknowledged += c->mqtt_before.acknowledged;
	h->mqtt.failed += c->mqtt_before.failed;
	h->mqtt.denied += c->mqtt_before.denied;
	h->mqtt.held_dropped += c->mqtt_before.held_dropped;
	h->mqtt.incoming_dropped += c->mqtt_before.incoming_dropped;
	h->mqtt.connections += c->mqtt_before.connections;
	h->mqtt.made += c->mqtt_before.made;
	h->mqtt.wakeups += c->mqtt_before.wakeups;
	h->mqtt.reconnects = h->mqtt.connections ? h->mqtt.connections - 1 : 0;
}

int health_json(const struct health *h, char *buf, size_t size)
{
	const struct mqtt_stats *m = &h->mqtt;
	cJSON *string = cJSON_CreateString(m->broker);
	char *broker = string ? cJSON_PrintUnformatted(string) : NULL;
	int n;

	/* Strings are escaped by cJSON, as in every JSON document the daemon writes; the numbers
	 * are written here, as cJSON keeps numbers as doubles and these are 64-bit counters. */
	cJSON_Delete(string);
	if (!broker)
		return -ENOMEM;
	n = snprintf(buf, size,
		     "{\"uptime_s\":%llu,\"edges_seen\":%llu,\"edges_lost\":%llu,"
		     "\"publishes_acknowledged\":%llu,\"publishes_failed\":%llu,"
		     "\"publishes_denied\":%llu,\"reconnects\":%llu,\"connected\":%s,"
		     "\"broker\":%s,\"queue_depth\":%zu,\"queue_inflight\":%zu,"
		     "\"queue_held\":%zu,\"queue_incoming\":%zu,\"events_dropped\":%llu,"
		     "\"commands_dropped\":%llu,\"config_generation\":%llu,"
		     "\"publishes_made\":%llu,\"network_wakeups\":%llu}",
		     (unsigned long long)h->uptime_s, h->edges_seen, h->edges_lost, m->acknowledged,
		     m->failed, m->denied, m->reconnects, m->connected ? "true" : "false", broker,
		     m->inflight + m->held + m->incoming, m->inflight, m->held, m->incoming,
		     m->held_dropped, m->incoming_dropped, h->config_generation, m->made,
		     m->wakeups);
	free(broker);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENOSPC;
	/* The counters' own, before the closing brace (a counter must say what it may miss). */
	if (h->counters_edges_lost[0]) {
		int k = snprintf(buf + n - 1, size - (size_t)n + 1, ",\"counters_edges_lost\":%s}",
				 h->counters_edges_lost);

		if (k < 0 || (size_t)k >= size - (size_t)n + 1)
			return -ENOSPC;
	}
	return 0;
}

int health_summary(const struct health *h, char *buf, size_t size)
{
	const struct mqtt_stats *m = &h->mqtt;
	int n;

	n = snprintf(buf, size,
		     "edges %llu (%llu lost); publishes %llu acknowledged, %llu failed, %llu denied; "
		     "%llu reconnect%s; queue %zu; config generation %llu",
		     h->edges_seen, h->edges_lost, m->acknowledged, m->failed, m->denied,
		     m->reconnects, m->reconnects == 1 ? "" : "s",
		     m->inflight + m->held + m->incoming, h->config_generation);
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= size ? -ENOSPC : 0;
}
