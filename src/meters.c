/* SPDX-License-Identifier: MIT */
/* The pulse counters of the running daemon (see meters.h). */
#include "meters.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "kind.h"
#include "log.h"
#include "meter.h"
#include "meter_store.h"
#include "paths.h"
#include "util.h"

#define METERS_TEXT_MAX 48 /* a total or a rate as text */

struct meters_item {
	size_t pin;
	struct meter meter;
	struct meter_settings s;
};

struct meters {
	const struct config *cfg;
	struct publish *pub;
	struct loop_source *timer;
	struct meters_item *items;
	size_t n;
	struct meter_store store;
	struct meter_store_data kept; /* counts in the file of counters not configured now */
	bool save_failed;             /* the last save failed (logged once) */
};

static void meters_settings(const struct config_pin *p, struct meter_settings *s)
{
	*s = (struct meter_settings){
		.count_inactive = p->counter_edge == CONFIG_COUNTER_EDGE_FALLING,
		.pulses_per_unit = p->pulses_per_unit,
		.precision = p->precision,
		.rate_scale = p->rate_scale,
		.rate_period_s = p->rate_period_s,
		.rate_precision = p->rate_precision,
		.rate_interval_ms = p->rate_interval_ms,
		.rate_threshold_pct = p->rate_threshold_pct,
		.rate_timeout_s = p->rate_timeout_s,
		.save_pulses = p->save_pulses,
		.save_interval_s = p->save_interval_s,
	};
}

static struct meters_item *meters_find(const struct meters *m, size_t pin)
{
	for (size_t i = 0; m && i < m->n; i++)
		if (m->items[i].pin == pin)
			return &m->items[i];
	return NULL;
}

static const char *meters_name(const struct meters *m, const struct meters_item *it)
{
	return m->cfg->pins[it->pin].name;
}

static void meters_total_text(const struct meters_item *it, uint64_t count, char *buf,
			      size_t size)
{
	if (meter_total_format(count, &it->s, buf, size) < 0)
		snprintf(buf, size, "?");
}

static void meters_publish_total(struct meters *m, struct meters_item *it)
{
	const struct topics_pin *tp;
	char text[METERS_TEXT_MAX];

	if (!m->pub->connected || !m->pub->topics)
		return;
	tp = &m->pub->topics->pins[it->pin];
	/* Only what was written: a SIGKILL never takes back a published total. */
	meters_total_text(it, it->meter.saved, text, sizeof(text));
	publish_text(m->pub, it->pin, tp->state, text, false);
	publish_text(m->pub, it->pin, tp->homie_total, text, true);
}

static void meters_publish_rate(struct meters *m, struct meters_item *it, double rate,
				uint64_t now)
{
	const struct topics_pin *tp;
	char text[METERS_TEXT_MAX];

	if (!m->pub->connected || !m->pub->topics)
		return;
	tp = &m->pub->topics->pins[it->pin];
	if (meter_rate_format(rate, &it->s, text, sizeof(text)) < 0)
		return;
	publish_text(m->pub, it->pin, tp->rate, text, false);
	publish_text(m->pub, it->pin, tp->homie_rate, text, true);
	meter_rate_published(&it->meter, rate, now);
}

/* Every count (and the kept ones of counters not configured now) into the next generation;
 * then the totals published. On failure nothing is published, and the next try waits one
 * save_interval_s (a failing disk is not hammered). */
static int meters_save(struct meters *m, uint64_t now, const struct meters_item *force)
{
	struct meter_store_data data = { 0 };
	size_t n = m->n + m->kept.n;
	int r;

	data.entries = calloc(n ? n : 1, sizeof(*data.entries));
	if (!data.entries)
		return -ENOMEM;
	for (size_t i = 0; i < m->n; i++)
		data.entries[data.n++] = (struct meter_store_entry){
			.name = m->cfg->pins[m->items[i].pin].name,
			.count = m->items[i].meter.count,
		};
	for (size_t i = 0; i < m->kept.n; i++)
		data.entries[data.n++] = m->kept.entries[i];
	r = meter_store_save(&m->store, &data);
	free(data.entries); /* the names belong to the configuration and to KEPT */
	if (r < 0) {
		if (!m->save_failed)
			log_error("cannot save the counters to %s: %s; their totals are not published "
				  "until a save succeeds (a total is published only once written)",
				  m->store.path[(m->store.generation + 1) % 2], strerror(-r));
		m->save_failed = true;
		for (size_t i = 0; i < m->n; i++)
			if (meter_dirty(&m->items[i].meter))
				m->items[i].meter.dirty_since_ns = now;
		return r;
	}
	if (m->save_failed)
		log_notice("counters saved to %s again", m->store.path[m->store.generation % 2]);
	m->save_failed = false;
	for (size_t i = 0; i < m->n; i++) {
		struct meters_item *it = &m->items[i];
		bool changed = it->meter.saved != it->meter.count;

		meter_saved(&it->meter, it->meter.count);
		if (changed || it == force)
			meters_publish_total(m, it);
	}
	return 0;
}

static void meters_timer_arm(struct meters *m, uint64_t now)
{
	uint64_t next = METER_NO_DEADLINE;

	if (!m->timer)
		return;
	for (size_t i = 0; i < m->n; i++) {
		uint64_t d = meter_next_deadline(&m->items[i].meter, &m->items[i].s, now);

		if (d < next)
			next = d;
	}
	if (next == METER_NO_DEADLINE)
		loop_timer_arm(m->timer, 0, 0);
	else
		loop_timer_arm(m->timer, next > now ? (next - now + 999) / 1000 : 1, 0);
}

/* What is due at NOW: a save (all counters in one file), rates to publish, the next timer. */
static void meters_run(struct meters *m, uint64_t now)
{
	bool save = false;

	for (size_t i = 0; i < m->n; i++)
		save |= meter_save_due(&m->items[i].meter, &m->items[i].s, now);
	if (save)
		meters_save(m, now, NULL);
	for (size_t i = 0; i < m->n && m->pub->connected; i++) {
		struct meters_item *it = &m->items[i];
		double rate = meter_rate(&it->meter, &it->s, now);

		if (meter_rate_due(&it->meter, &it->s, rate, now))
			meters_publish_rate(m, it, rate, now);
	}
	meters_timer_arm(m, now);
}

static int meters_on_timer(void *userdata)
{
	struct meters *m = userdata;

	meters_run(m, util_clock_ns(CLOCK_MONOTONIC));
	return 0;
}

/* The two files in the state directory of CFG (created outside systemd). */
static void meters_store_paths(struct meters *m, const struct config *cfg)
{
	char p0[PATH_MAX], p1[PATH_MAX];
	uint64_t generation = m->store.generation;

	if (paths_state_file(cfg, "meters-0.state", p0, sizeof(p0)) < 0 ||
	    paths_state_file(cfg, "meters-1.state", p1, sizeof(p1)) < 0) {
		log_warning("the state directory's path is too long; counters are not kept");
		p0[0] = p1[0] = '\0';
	} else {
		paths_dir_create(p0);
	}
	meter_store_init(&m->store, p0, p1);
	m->store.generation = generation;
}

/* Takes the count of NAME out of the file's counts (KEPT); false when it has none. */
static bool meters_kept_take(struct meters *m, const char *name, uint64_t *count)
{
	for (size_t i = 0; i < m->kept.n; i++) {
		if (strcmp(m->kept.entries[i].name, name) != 0)
			continue;
		*count = m->kept.entries[i].count;
		free(m->kept.entries[i].name);
		m->kept.entries[i] = m->kept.entries[--m->kept.n];
		return true;
	}
	return false;
}

static void meters_start_log(struct meters *m, struct meters_item *it, bool found)
{
	const struct config_pin *p = &m->cfg->pins[it->pin];
	char text[METERS_TEXT_MAX];

	meters_total_text(it, it->meter.count, text, sizeof(text));
	if (found)
		log_info("counter '%s': %s %s (%" PRIu64 " pulses)", p->name, text, p->unit,
			 it->meter.count);
	else
		log_notice("counter '%s': no saved count; counting from 0", p->name);
}

/* The items of CFG's counters, each count from KEPT (taken out) or 0. */
static int meters_items_build(struct meters *m, const struct config *cfg,
			      struct meters_item **out, size_t *n_out)
{
	struct meters_item *items;
	size_t n = 0;

	items = calloc(cfg->n_pins ? cfg->n_pins : 1, sizeof(*items));
	if (!items)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_pins; i++) {
		if (!kind_of(&cfg->pins[i])->is_counter)
			continue;
		items[n].pin = i;
		meters_settings(&cfg->pins[i], &items[n].s);
		n++;
	}
	*out = items;
	*n_out = n;
	return 0;
}

/* The file's paths for CFG and the counts in it (into KEPT), with one log line when they are
 * not simply there. Returns 0 or -ENOMEM. */
static int meters_store_open(struct meters *m, const struct config *cfg)
{
	char why[1024];
	int r;

	meters_store_paths(m, cfg);
	r = meter_store_load(&m->store, &m->kept, why, sizeof(why));
	if (r == -ENOMEM)
		return r;
	if (r == METER_STORE_OUTCOME_FALLBACK)
		log_warning("counters: %s; the counts come from the other file (save %" PRIu64
			    "), the last good one", why, m->store.generation);
	else if (r == METER_STORE_OUTCOME_MISSING)
		log_notice("counters: %s; every counter starts at 0", why);
	else if (r == METER_STORE_OUTCOME_CORRUPT)
		log_error("counters: %s, and there is no good older file; every counter starts at "
			  "0 (set the totals with <base>/<name>/set)", why);
	return 0;
}

int meters_new(struct meters **out, const struct config *cfg, struct loop *loop,
	       struct publish *pub)
{
	struct meters *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		goto no_memory;
	m->cfg = cfg;
	m->pub = pub;
	if (meters_items_build(m, cfg, &m->items, &m->n) < 0)
		goto no_memory;
	*out = m;
	if (m->n && meters_store_open(m, cfg) < 0)
		goto no_memory;
	for (size_t i = 0; i < m->n; i++) {
		struct meters_item *it = &m->items[i];
		uint64_t count = 0;
		bool found = meters_kept_take(m, cfg->pins[it->pin].name, &count);

		meter_init(&it->meter, count);
		meters_start_log(m, it, found);
	}
	/* Also without counters: a reload may add some. */
	r = loop_add_timer(loop, meters_on_timer, m, &m->timer);
	if (r < 0) {
		log_error("cannot start: %s", strerror(-r));
		return r;
	}
	return 0;

no_memory:
	log_error("cannot start: %s", strerror(ENOMEM));
	if (m)
		free(m->items);
	free(m);
	*out = NULL;
	return -ENOMEM;
}

void meters_free(struct meters *m)
{
	bool dirty = false;

	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		dirty |= meter_dirty(&m->items[i].meter);
	if (dirty)
		meters_save(m, util_clock_ns(CLOCK_MONOTONIC), NULL);
	/* The timer goes with the loop. */
	meter_store_data_clear(&m->kept);
	free(m->items);
	free(m);
}

bool meters_edge(struct meters *m, const struct gpio_event *ev, uint64_t ts_ns)
{
	struct meters_item *it = meters_find(m, ev->pin);

	if (!it)
		return false;
	if (ev->lost) {
		meter_lost(&it->meter, ev->lost);
		log_warning("counter '%s': the kernel dropped %" PRIu64 " edges: up to %" PRIu64
			    " pulses may be missing from the total (%" PRIu64 " edges lost since "
			    "start)", meters_name(m, it), ev->lost, (ev->lost + 1) / 2,
			    it->meter.edges_lost);
	}
	/* A level read after lost edges (seqno 0) is no edge of its own. */
	if (ev->seqno == 0)
		return true;
	if (meter_edge(&it->meter, &it->s, ev->active, ts_ns))
		meters_run(m, ts_ns);
	return true;
}

bool meters_command(struct meters *m, size_t pin, const char *payload, size_t len, bool retained)
{
	struct meters_item *it = meters_find(m, pin);
	const struct config_pin *p;
	char old[METERS_TEXT_MAX], new[METERS_TEXT_MAX];
	uint64_t now = util_clock_ns(CLOCK_MONOTONIC), count;
	size_t start = 0, end = len;

	if (!it)
		return false;
	p = &m->cfg->pins[pin];
	if (retained && !p->accept_retained) {
		log_warning("counter '%s': a retained message on its set topic is ignored (a total "
			    "is set once, not on every connection); accept_retained = true takes it",
			    p->name);
		return true;
	}
	while (start < end && (payload[start] == ' ' || payload[start] == '\t' ||
			       payload[start] == '\r' || payload[start] == '\n'))
		start++;
	while (end > start && (payload[end - 1] == ' ' || payload[end - 1] == '\t' ||
			       payload[end - 1] == '\r' || payload[end - 1] == '\n'))
		end--;
	if (end - start == 5 && strncasecmp(payload + start, "reset", 5) == 0) {
		count = 0;
	} else if (meter_total_parse(payload, len, &it->s, &count) < 0) {
		log_warning("counter '%s': a total in %s (\"12345.678\") or \"reset\" expected on "
			    "its set topic, not '%.*s'; ignored", p->name, p->unit,
			    (int)(len > 64 ? 64 : len), payload);
		return true;
	}
	meters_total_text(it, it->meter.count, old, sizeof(old));
	meters_total_text(it, count, new, sizeof(new));
	log_notice("counter '%s': total %s to %s %s (was %s %s)", p->name,
		   count ? "set" : "reset", new, p->unit, old, p->unit);
	meter_set(&it->meter, count);
	/* Written, then published (meters_save() publishes what it wrote, this total even when
	 * it did not change), then the rate. */
	meters_save(m, now, it);
	meters_publish_rate(m, it, 0.0, now);
	meters_timer_arm(m, now);
	return true;
}

void meters_publish(struct meters *m)
{
	uint64_t now = util_clock_ns(CLOCK_MONOTONIC);

	for (size_t i = 0; m && i < m->n; i++) {
		struct meters_item *it = &m->items[i];

		meters_publish_total(m, it);
		meters_publish_rate(m, it, meter_rate(&it->meter, &it->s, now), now);
	}
	if (m)
		meters_timer_arm(m, now);
}

void meters_stop(struct meters *m)
{
	bool dirty = false;

	for (size_t i = 0; m && i < m->n; i++)
		dirty |= meter_dirty(&m->items[i].meter);
	if (dirty)
		meters_save(m, util_clock_ns(CLOCK_MONOTONIC), NULL);
}

int meters_reload(struct meters *m, const struct config *cfg, const size_t *from)
{
	struct meters_item *items, *old;
	uint64_t now = util_clock_ns(CLOCK_MONOTONIC);
	size_t n;
	int r;

	meters_stop(m); /* every count in the file: nothing unsaved crosses the reload */
	r = meters_items_build(m, cfg, &items, &n);
	if (r < 0)
		goto fail;
	/* The first counters since start: the file was not read yet. */
	if (n && !m->store.path[0][0] && meters_store_open(m, cfg) < 0)
		goto no_memory;
	/* Counters no longer configured keep their count in the file. */
	for (size_t i = 0; i < m->n; i++) {
		bool stays = false;
		struct meter_store_entry *grown;

		for (size_t k = 0; k < n && !stays; k++)
			stays = from[items[k].pin] == m->items[i].pin;
		if (stays)
			continue;
		grown = realloc(m->kept.entries, (m->kept.n + 1) * sizeof(*grown));
		if (!grown)
			goto no_memory;
		m->kept.entries = grown;
		grown[m->kept.n].name = strdup(meters_name(m, &m->items[i]));
		if (!grown[m->kept.n].name)
			goto no_memory;
		grown[m->kept.n++].count = m->items[i].meter.count;
	}
	for (size_t k = 0; k < n; k++) {
		struct meters_item *it = &items[k];
		uint64_t count = 0;
		bool found;

		old = from[it->pin] != SIZE_MAX ? meters_find(m, from[it->pin]) : NULL;
		if (old) {
			it->meter = old->meter; /* count, rate and lost edges carry over */
			continue;
		}
		found = meters_kept_take(m, cfg->pins[it->pin].name, &count);
		meter_init(&it->meter, count);
		m->cfg = cfg; /* for the log line's name */
		meters_start_log(m, it, found);
	}
	free(m->items);
	m->items = items;
	m->n = n;
	m->cfg = cfg;
	meters_timer_arm(m, now);
	return 0;

no_memory:
	free(items);
	r = -ENOMEM;
fail:
	/* The caller frees the old configuration: no item may point into it any more. Every
	 * count was saved above: the next reload with counters reads the file again. */
	free(m->items);
	m->items = NULL;
	m->n = 0;
	m->cfg = cfg;
	meter_store_data_clear(&m->kept);
	m->store.path[0][0] = '\0';
	return r;
}

uint64_t meters_edges_lost(const struct meters *m)
{
	uint64_t lost = 0;

	for (size_t i = 0; m && i < m->n; i++)
		lost += m->items[i].meter.edges_lost;
	return lost;
}

int meters_health_json(const struct meters *m, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; m && i < m->n; i++) {
		const char *name = meters_name(m, &m->items[i]);
		int k;

		k = snprintf(buf + used, size - used, "%s\"", i ? "," : "{");
		if (k < 0 || (size_t)k >= size - used)
			return -ENOSPC;
		used += (size_t)k;
		for (; *name; name++) { /* a pin name has no control characters */
			if (used + 3 >= size)
				return -ENOSPC;
			if (*name == '"' || *name == '\\')
				buf[used++] = '\\';
			buf[used++] = *name;
		}
		k = snprintf(buf + used, size - used, "\":%" PRIu64 "%s",
			     m->items[i].meter.edges_lost, i + 1 == m->n ? "}" : "");
		if (k < 0 || (size_t)k >= size - used)
			return -ENOSPC;
		used += (size_t)k;
	}
	return 0;
}
