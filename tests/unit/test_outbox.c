/* SPDX-License-Identifier: MIT */
/* outbox.c: what is on its way out: the in-flight window's count, MIDs wrapping, the held FIFO. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbox.h"
#include "tap.h"

static void test_window_count(void)
{
	struct outbox *o = calloc(1, sizeof(*o));

	if (!tap_ok(o != NULL, "outbox allocated"))
		return;
	outbox_mid_put(o, 1);
	outbox_mid_put(o, 1); /* the same MID twice is one publish */
	outbox_q0_put(o, 2);
	outbox_q0_put(o, 65535);
	tap_is_int((long long)outbox_unsettled(o), 3, "QoS 1 and QoS 0 publishes count alike");
	tap_ok(outbox_q0_take(o, 2) && !outbox_q0_take(o, 2), "a QoS 0 MID is taken once");
	tap_ok(!outbox_mid_take(o, 65535), "a QoS 0 MID is no QoS 1 MID");
	tap_is_int((long long)outbox_unsettled(o), 2, "after one written");
	outbox_q0_clear(o);
	tap_is_int((long long)outbox_unsettled(o), 1,
		   "a lost connection drops the unwritten QoS 0 publishes, not the QoS 1 ones");
	tap_ok(outbox_mid_take(o, 1), "the QoS 1 publish is acknowledged later");
	tap_is_int((long long)outbox_unsettled(o), 0, "nothing in flight");
	outbox_clear(o);
	free(o);
}

static void test_held(void)
{
	struct outbox o = { 0 };
	struct outbox_held *h;
	bool dropped;

	tap_is_int(outbox_held_push(&o, "t", "single", 1, false, 2, &dropped), 0, "held 1");
	tap_ok(!dropped, "nothing dropped");
	outbox_held_push(&o, "t", "double", 1, false, 2, &dropped);
	outbox_held_push(&o, "t", "long", 1, false, 2, &dropped);
	tap_ok(dropped, "full at 2: the oldest is dropped");
	h = outbox_held_pop(&o);
	tap_ok(h && strcmp(h->payload, "double") == 0, "the oldest kept comes first");
	outbox_held_free(h);
	h = outbox_held_pop(&o);
	tap_ok(h && strcmp(h->payload, "long") == 0, "then the newest");
	outbox_held_free(h);
	tap_ok(outbox_held_pop(&o) == NULL && o.n_held == 0, "empty");
	outbox_clear(&o);
}

/* MID -> topic: kept past the first allocation (it grows), the oldest forgotten beyond the
 * maximum, every other one still there. */
static void test_topics(void)
{
	const int n = OUTBOX_TOPICS_MAX + 10;
	struct outbox *o = calloc(1, sizeof(*o));
	bool all = true;
	char want[32];

	if (!tap_ok(o != NULL, "outbox allocated"))
		return;
	for (int mid = 1; mid <= n; mid++) {
		snprintf(want, sizeof(want), "t/%d", mid);
		outbox_topic_add(o, mid, want);
	}
	tap_is_int((long long)o->n_topics, OUTBOX_TOPICS_MAX, "at most OUTBOX_TOPICS_MAX topics");
	for (int mid = 1; mid <= 10; mid++) {
		char *t = outbox_topic_take(o, mid);

		all = all && !t;
		free(t);
	}
	tap_ok(all, "the 10 oldest were forgotten");
	for (int mid = n; mid > 10; mid--) { /* newest first: the table is searched, not a queue */
		char *t = outbox_topic_take(o, mid);

		snprintf(want, sizeof(want), "t/%d", mid);
		all = all && t && strcmp(t, want) == 0;
		free(t);
	}
	tap_ok(all, "every other MID gives its own topic back, once");
	tap_is_int((long long)o->n_topics, 0, "none left");
	outbox_topic_add(o, 7, "again");
	{
		char *t = outbox_topic_take(o, 7);

		tap_ok(t && strcmp(t, "again") == 0, "the emptied table takes a topic again");
		free(t);
	}
	outbox_clear(o);
	free(o);
}

int main(void)
{
	test_window_count();
	test_held();
	test_topics();
	return tap_done();
}
