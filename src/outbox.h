/* SPDX-License-Identifier: MIT */
#pragma once

/* What is on its way out to the broker, without libmosquitto (mqtt.c holds the locks and calls
 * the library): the MIDs of publishes not yet acknowledged, the topics of some of them (for the
 * message when the broker refuses one), the topics whose refusal was logged, and the FIFO of
 * button events kept while they cannot be published. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* QoS >= 1 publishes waiting for their acknowledgement whose topic is remembered; beyond this
 * the oldest topic is forgotten, so a broker that never acknowledges cannot grow it. Counting
 * does not depend on it: every MID in flight is a bit of outbox.qos_mids. */
#define OUTBOX_TOPICS_MAX 1024
#define OUTBOX_TOPICS_MIN 32 /* the first allocation; doubled up to the maximum */
#define OUTBOX_MIDS (UINT16_MAX + 1) /* libmosquitto's MIDs are 16 bits */
/* Topics whose refusal was logged; more distinct refused topics are counted, not logged. */
#define OUTBOX_REFUSED_TOPICS_MAX 256

struct outbox_topic {
	int mid;
	char *topic;
};

/* A button event kept while it cannot be published. */
struct outbox_held {
	struct outbox_held *next;
	char *topic;
	char *payload;
	int qos;
	bool retain;
};

struct outbox {
	uint8_t qos_mids[OUTBOX_MIDS / 8]; /* MIDs of QoS >= 1 publishes not yet acknowledged */
	size_t n_qos_mids;
	uint8_t q0_mids[OUTBOX_MIDS / 8]; /* MIDs of QoS 0 publishes not yet written */
	size_t n_q0_mids;
	struct outbox_topic *topics; /* grows by doubling up to OUTBOX_TOPICS_MAX */
	size_t n_topics, cap_topics;
	char **refused_topics;
	size_t n_refused_topics;

	struct outbox_held *held_head, *held_tail;
	size_t n_held;
};

/* Marks MID as a QoS >= 1 publish waiting for its acknowledgement. */
void outbox_mid_put(struct outbox *o, int mid);
/* Whether MID was waiting (and no longer is). */
bool outbox_mid_take(struct outbox *o, int mid);
/* The same for QoS 0 publishes not yet written to the socket; a lost connection drops them all
 * (libmosquitto discards unwritten QoS 0 packets without a callback): outbox_q0_clear(). */
void outbox_q0_put(struct outbox *o, int mid);
bool outbox_q0_take(struct outbox *o, int mid);
void outbox_q0_clear(struct outbox *o);
/* Publishes handed to libmosquitto that are not done: QoS 0 not yet written, QoS >= 1 not yet
 * acknowledged. */
size_t outbox_unsettled(const struct outbox *o);
/* Records MID -> TOPIC (forgetting the oldest beyond OUTBOX_TOPICS_MAX). */
void outbox_topic_add(struct outbox *o, int mid, const char *topic);
/* Takes the topic of MID out (the caller frees it); NULL when unknown (QoS 0, or forgotten). */
char *outbox_topic_take(struct outbox *o, int mid);
/* True the first time TOPIC is refused (it is remembered then). */
bool outbox_refused_first(struct outbox *o, const char *topic);

/* Appends a copy of the event; with MAX events already held the oldest is dropped first
 * (*DROPPED set). -ENOMEM. */
int outbox_held_push(struct outbox *o, const char *topic, const char *payload, int qos,
		     bool retain, size_t max, bool *dropped);
/* The oldest held event, taken out (free it with outbox_held_free()); NULL when none. */
struct outbox_held *outbox_held_pop(struct outbox *o);
void outbox_held_free(struct outbox_held *h);

/* Frees everything held and remembered. */
void outbox_clear(struct outbox *o);
