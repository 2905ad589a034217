/* SPDX-License-Identifier: MIT */
#pragma once

/* The pulse counters of the running daemon (pins of mode = "counter"): each one's logic
 * (src/meter.h) fed with its edges and the time, its count kept in the state directory
 * (src/meter_store.h), its total and rate published (src/publish.h), its commands carried out.
 * daemon.c calls these at a few points and owns nothing of it.
 *
 * The total is published only as written: every total on <base>/<name> (and the one sent on
 * every connection) is the count last saved, so a SIGKILL or a power cut never takes back a
 * total anyone saw. Saves follow each counter's save_pulses and save_interval_s, happen at
 * once on a command, and on every stop and reload. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "gpio.h"
#include "loop.h"
#include "publish.h"

struct meters;

/* The counters of CFG, their counts loaded (logged: from which file, or why from 0), a timer
 * in LOOP. PUB is the daemon's connection (it outlives the object). A configuration without
 * counters makes an object that does nothing. Returns 0 or a negative errno (logged). */
int meters_new(struct meters **out, const struct config *cfg, struct loop *loop,
	       struct publish *pub);
/* Saves what is unsaved (logged when that fails) and frees. */
void meters_free(struct meters *m);

/* An edge of PIN (EV, at TS_NS on CLOCK_MONOTONIC, the kernel's timestamp): counted when PIN
 * is a counter, which returns true; false for any other pin. */
bool meters_edge(struct meters *m, const struct gpio_event *ev, uint64_t ts_ns);

/* A message on PIN's <base>/<name>/set: a new total in units ("12345.678", a meter exchange)
 * or "reset"; logged, saved and published at once. Returns true when PIN is a counter (the
 * message was its), false for any other pin. */
bool meters_command(struct meters *m, size_t pin, const char *payload, size_t len, bool retained);

/* Every total (as saved) and rate: on every connection and Home Assistant's birth. */
void meters_publish(struct meters *m);

/* A stop: everything unsaved saved and its total published (while the broker listens). */
void meters_stop(struct meters *m);

/* A reload to CFG: FROM[i] is the old index of new pin i, or SIZE_MAX. A counter that stays
 * keeps its count, its unsaved pulses and its rate; a new one reads its count from the file;
 * the file keeps the counts of counters removed (they come back with their name). Saves first.
 * Returns 0 or -ENOMEM: then no counter counts until the next reload or restart (every count
 * is saved; the old configuration, which is about to be freed, is no longer referred to). */
int meters_reload(struct meters *m, const struct config *cfg, const size_t *from);

/* Edges the kernel dropped on the lines of counters since start. */
uint64_t meters_edges_lost(const struct meters *m);
/* {"electricity":0,"water":2}: each counter's lost edges, for <base>/health; "" without
 * counters. Returns 0 or -ENOSPC. */
int meters_health_json(const struct meters *m, char *buf, size_t size);
