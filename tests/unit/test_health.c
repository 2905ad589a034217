/* SPDX-License-Identifier: MIT */
/* health.c: the <base>/health JSON and the STATUS= line. */
#include <errno.h>
#include <string.h>

#include "health.h"
#include "tap.h"

static void test_json(void)
{
	struct health h = {
		.uptime_s = 12, .edges_seen = 3, .edges_lost = 1, .config_generation = 2,
		.mqtt = { .acknowledged = 10, .failed = 4, .denied = 5, .reconnects = 6,
			  .connected = true, .inflight = 1, .held = 2, .incoming = 3,
			  .held_dropped = 7, .incoming_dropped = 8, .broker = "127.0.0.1:1883",
			  .made = 11, .wakeups = 9 },
	};
	char buf[1024];

	tap_is_int(health_json(&h, buf, sizeof(buf)), 0, "json fits");
	tap_is_str(buf,
		   "{\"uptime_s\":12,\"edges_seen\":3,\"edges_lost\":1,"
		   "\"publishes_acknowledged\":10,\"publishes_failed\":4,\"publishes_denied\":5,"
		   "\"reconnects\":6,\"connected\":true,\"broker\":\"127.0.0.1:1883\","
		   "\"queue_depth\":6,\"queue_inflight\":1,\"queue_held\":2,\"queue_incoming\":3,"
		   "\"events_dropped\":7,\"commands_dropped\":8,\"config_generation\":2,"
		   "\"publishes_made\":11,\"network_wakeups\":9}",
		   "json: every field");
	tap_is_int(health_json(&h, buf, 20), -ENOSPC, "json: too small a buffer");

	snprintf(h.mqtt.broker, sizeof(h.mqtt.broker), "a\"b\\c");
	h.mqtt.connected = false;
	tap_is_int(health_json(&h, buf, sizeof(buf)), 0, "json with odd host fits");
	tap_ok(strstr(buf, "\"broker\":\"a\\\"b\\\\c\"") != NULL, "json: broker escaped (%s)",
	       buf);
	tap_ok(strstr(buf, "\"connected\":false") != NULL, "json: connected false");
}

static void test_summary(void)
{
	struct health h = { .edges_seen = 3, .config_generation = 1,
			    .mqtt = { .acknowledged = 10, .reconnects = 1, .held = 2 } };
	char buf[512];

	tap_is_int(health_summary(&h, buf, sizeof(buf)), 0, "summary fits");
	tap_is_str(buf, "edges 3 (0 lost); publishes 10 acknowledged, 0 failed, 0 denied; "
			"1 reconnect; queue 2; config generation 1", "summary");
	tap_ok(strstr(buf, "refused") == NULL, "summary never says refused (STATUS= checks)");
}

int main(void)
{
	test_json();
	test_summary();
	return tap_done();
}
