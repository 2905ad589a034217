/* SPDX-License-Identifier: MIT */
#include "health.h"

#include <errno.h>
#include <stdio.h>

/* S as the contents of a JSON string: '"', '\' and control characters escaped. */
static size_t health_json_escape(char *buf, size_t size, const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p && n + 7 < size; p++) {
		if (*p == '"' || *p == '\\')
			n += (size_t)snprintf(buf + n, size - n, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			n += (size_t)snprintf(buf + n, size - n, "\\u%04x", *p);
		else
			buf[n++] = (char)*p;
	}
	if (size)
		buf[n < size ? n : size - 1] = '\0';
	return n;
}

int health_json(const struct health *h, char *buf, size_t size)
{
	const struct mqtt_stats *m = &h->mqtt;
	char broker[sizeof(m->broker) * 2];
	int n;

	health_json_escape(broker, sizeof(broker), m->broker);
	n = snprintf(buf, size,
		     "{\"uptime_s\":%llu,\"edges_seen\":%llu,\"edges_lost\":%llu,"
		     "\"publishes_acknowledged\":%llu,\"publishes_failed\":%llu,"
		     "\"publishes_denied\":%llu,\"reconnects\":%llu,\"connected\":%s,"
		     "\"broker\":\"%s\",\"queue_depth\":%zu,\"queue_inflight\":%zu,"
		     "\"queue_held\":%zu,\"queue_incoming\":%zu,\"events_dropped\":%llu,"
		     "\"commands_dropped\":%llu,\"config_generation\":%llu}",
		     (unsigned long long)h->uptime_s, h->edges_seen, h->edges_lost, m->acknowledged,
		     m->failed, m->denied, m->reconnects, m->connected ? "true" : "false", broker,
		     m->inflight + m->held + m->incoming, m->inflight, m->held, m->incoming,
		     m->held_dropped, m->incoming_dropped, h->config_generation);
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= size ? -ENOSPC : 0;
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
