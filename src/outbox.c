/* SPDX-License-Identifier: MIT */
#include "outbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool outbox_bit_put(uint8_t *bits, size_t *n, int mid)
{
	uint8_t bit = (uint8_t)(1u << (mid & 7));
	uint8_t *byte = &bits[(unsigned int)mid % OUTBOX_MIDS / 8];

	if (*byte & bit)
		return false;
	*byte |= bit;
	(*n)++;
	return true;
}

static bool outbox_bit_take(uint8_t *bits, size_t *n, int mid)
{
	uint8_t bit = (uint8_t)(1u << (mid & 7));
	uint8_t *byte = &bits[(unsigned int)mid % OUTBOX_MIDS / 8];

	if (!(*byte & bit))
		return false;
	*byte &= (uint8_t)~bit;
	(*n)--;
	return true;
}

void outbox_mid_put(struct outbox *o, int mid)
{
	outbox_bit_put(o->qos_mids, &o->n_qos_mids, mid);
}

bool outbox_mid_take(struct outbox *o, int mid)
{
	return outbox_bit_take(o->qos_mids, &o->n_qos_mids, mid);
}

void outbox_q0_put(struct outbox *o, int mid)
{
	outbox_bit_put(o->q0_mids, &o->n_q0_mids, mid);
}

bool outbox_q0_take(struct outbox *o, int mid)
{
	return outbox_bit_take(o->q0_mids, &o->n_q0_mids, mid);
}

void outbox_q0_clear(struct outbox *o)
{
	memset(o->q0_mids, 0, sizeof(o->q0_mids));
	o->n_q0_mids = 0;
}

size_t outbox_unsettled(const struct outbox *o)
{
	return o->n_qos_mids + o->n_q0_mids;
}

char *outbox_topic_take(struct outbox *o, int mid)
{
	for (size_t i = 0; i < o->n_topics; i++) {
		if (o->topics[i].mid == mid) {
			char *topic = o->topics[i].topic;

			memmove(&o->topics[i], &o->topics[i + 1],
				(o->n_topics - i - 1) * sizeof(o->topics[0]));
			o->n_topics--;
			return topic;
		}
	}
	return NULL;
}

void outbox_topic_add(struct outbox *o, int mid, const char *topic)
{
	char *copy = strdup(topic);

	if (!copy)
		return;
	/* Grown as needed: the window keeps it at a few dozen, so the whole OUTBOX_TOPICS_MAX is
	 * only for a broker that leaves acknowledgements out. */
	if (o->n_topics == o->cap_topics && o->cap_topics < OUTBOX_TOPICS_MAX) {
		size_t cap = o->cap_topics ? 2 * o->cap_topics : OUTBOX_TOPICS_MIN;
		struct outbox_topic *topics;

		if (cap > OUTBOX_TOPICS_MAX)
			cap = OUTBOX_TOPICS_MAX;
		topics = realloc(o->topics, cap * sizeof(*o->topics));
		if (!topics) {
			free(copy);
			return;
		}
		o->topics = topics;
		o->cap_topics = cap;
	}
	if (o->n_topics == OUTBOX_TOPICS_MAX) {
		free(o->topics[0].topic);
		memmove(&o->topics[0], &o->topics[1],
			(OUTBOX_TOPICS_MAX - 1) * sizeof(o->topics[0]));
		o->n_topics--;
	}
	o->topics[o->n_topics++] = (struct outbox_topic){ .mid = mid, .topic = copy };
}

bool outbox_refused_first(struct outbox *o, const char *topic)
{
	char **topics;

	for (size_t i = 0; i < o->n_refused_topics; i++) {
		if (strcmp(o->refused_topics[i], topic) == 0)
			return false;
	}
	if (o->n_refused_topics == OUTBOX_REFUSED_TOPICS_MAX)
		return false;
	topics = realloc(o->refused_topics, (o->n_refused_topics + 1) * sizeof(*o->refused_topics));
	if (!topics)
		return true;
	o->refused_topics = topics;
	topics[o->n_refused_topics] = strdup(topic);
	if (topics[o->n_refused_topics])
		o->n_refused_topics++;
	return true;
}

void outbox_held_free(struct outbox_held *h)
{
	if (!h)
		return;
	free(h->topic);
	free(h->payload);
	free(h);
}

struct outbox_held *outbox_held_pop(struct outbox *o)
{
	struct outbox_held *h = o->held_head;

	if (!h)
		return NULL;
	o->held_head = h->next;
	if (!o->held_head)
		o->held_tail = NULL;
	o->n_held--;
	return h;
}

int outbox_held_push(struct outbox *o, const char *topic, const char *payload, int qos,
		     bool retain, size_t max, bool *dropped)
{
	struct outbox_held *h = calloc(1, sizeof(*h));

	*dropped = false;
	if (!h)
		return -ENOMEM;
	h->topic = strdup(topic);
	h->payload = strdup(payload);
	if (!h->topic || !h->payload) {
		outbox_held_free(h);
		return -ENOMEM;
	}
	h->qos = qos;
	h->retain = retain;
	if (o->n_held >= max) {
		outbox_held_free(outbox_held_pop(o));
		*dropped = true;
	}
	if (o->held_tail)
		o->held_tail->next = h;
	else
		o->held_head = h;
	o->held_tail = h;
	o->n_held++;
	return 0;
}

void outbox_clear(struct outbox *o)
{
	while (o->held_head)
		outbox_held_free(outbox_held_pop(o));
	for (size_t i = 0; i < o->n_topics; i++)
		free(o->topics[i].topic);
	free(o->topics);
	o->topics = NULL;
	o->n_topics = o->cap_topics = 0;
	for (size_t i = 0; i < o->n_refused_topics; i++)
		free(o->refused_topics[i]);
	free(o->refused_topics);
	o->refused_topics = NULL;
	o->n_refused_topics = 0;
}
