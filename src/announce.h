/* SPDX-License-Identifier: MIT */
#pragma once

/* Discovery on the wire: names the device (machine id, else hostname), builds the
 * configuration's topics and discovery documents (src/topics.h, src/discovery.h), publishes
 * them on every connection and when Home Assistant comes online, clears the documents of pins an
 * earlier run announced and this configuration no longer has, and keeps the list of announced
 * topics in the state directory. */

#include <limits.h>
#include <stdbool.h>

#include "config.h"
#include "discovery.h"
#include "mqtt.h"
#include "publish.h"
#include "topics.h"

struct announce {
	struct discovery *discovery;
	struct discovery_messages clears; /* stale documents of an earlier run */
	char **owned;                     /* the retained topics this run announces */
	size_t n_owned;
	char path[PATH_MAX];              /* the announced-topics file */
	bool saved;                       /* the file lists them */
};

/* Builds *TOPICS (freed with topics_free()) and the documents for CFG, and reads what an earlier
 * run announced. On failure (logged) *TOPICS is NULL and A is empty. */
int announce_setup(struct announce *a, const struct config *cfg, struct topics **topics);
void announce_clear(struct announce *a);

/* On a connection: Home Assistant's birth topic and Homie's commands. */
void announce_subscribe(const struct announce *a, const struct publish *p);
/* On a connection: the stale documents cleared (once), then every Home Assistant config and the
 * Homie tree ($state "init" first); the states and $state "ready" follow. The list of announced
 * topics is written once the first announcement went out. */
void announce_send(struct announce *a, const struct publish *p);
/* A message on <prefix>/status: when it is Home Assistant coming online (not a retained birth,
 * which the announcement on connect covered), every config again; returns true when every
 * state must follow. */
bool announce_ha_birth(const struct announce *a, const struct publish *p,
		       const struct mqtt_event *ev);
