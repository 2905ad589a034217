/* SPDX-License-Identifier: MIT */
#include "cover.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* The opener's cycle (the pulse wiring): each pulse moves it one step on. */
enum {
	COVER_CYCLE_OPENING,
	COVER_CYCLE_STOPPED_UP,
	COVER_CYCLE_CLOSING,
	COVER_CYCLE_STOPPED_DOWN,
	COVER_CYCLES,
};

/* settle: none, or the end the position is set to when the motor stops. */
#define COVER_SETTLE_NONE (-1)

static void cover_request(struct cover_out *out, enum cover_relay relay, bool active,
			  unsigned int pulse_ms)
{
	if (out->n < sizeof(out->items) / sizeof(out->items[0]))
		out->items[out->n++] = (struct cover_request){ relay, active, pulse_ms };
}

static uint32_t cover_end_position(enum cover_end end)
{
	return end == COVER_END_OPEN ? COVER_FULL : 0;
}

static unsigned int cover_travel_ms(const struct cover *m, enum cover_motion motion)
{
	return motion == COVER_MOTION_UP ? m->cfg->travel_up_ms : m->cfg->travel_down_ms;
}

static uint32_t cover_distance(uint32_t a, uint32_t b)
{
	return a > b ? a - b : b - a;
}

bool cover_relay_used(const struct cover_config *cfg, enum cover_relay relay)
{
	switch (cfg->wiring) {
	case COVER_WIRING_UP_DOWN:
		return relay == COVER_RELAY_UP || relay == COVER_RELAY_DOWN;
	case COVER_WIRING_POWER_DIRECTION:
		return relay == COVER_RELAY_POWER || relay == COVER_RELAY_DIRECTION;
	case COVER_WIRING_PULSE:
		return relay == COVER_RELAY_PULSE;
	}
	return false;
}

void cover_init(struct cover *m, const struct cover_config *cfg, int position)
{
	memset(m, 0, sizeof(*m));
	m->cfg = cfg;
	m->known = position >= 0 && position <= 100;
	m->pos_start = (uint32_t)((m->known ? (unsigned int)position : 50U) * (COVER_FULL / 100));
	m->settle = COVER_SETTLE_NONE;
	/* The opener's cycle is not known either: after a closed door the next pulse opens it,
	 * after an open one it closes it; in between, guess "stopped after opening". */
	m->cycle = m->pos_start == 0 ? COVER_CYCLE_STOPPED_DOWN : COVER_CYCLE_STOPPED_UP;
}

uint32_t cover_position_exact(const struct cover *m, uint64_t now)
{
	uint64_t moving_from = m->move_start + m->cfg->start_delay_ms, moved;

	if (m->drive == COVER_MOTION_NONE || now <= moving_from)
		return m->pos_start;
	moved = (now - moving_from) * COVER_FULL / cover_travel_ms(m, m->drive);
	if (m->drive == COVER_MOTION_UP)
		return moved >= COVER_FULL - m->pos_start ? COVER_FULL : m->pos_start + (uint32_t)moved;
	return moved >= m->pos_start ? 0 : m->pos_start - (uint32_t)moved;
}

unsigned int cover_position(const struct cover *m, uint64_t now)
{
	return (unsigned int)(((uint64_t)cover_position_exact(m, now) * 100 + COVER_FULL / 2) /
			      COVER_FULL);
}

/* The motor now does DRIVE (from the relays as really driven): the position counts from now. */
static void cover_drive_set(struct cover *m, enum cover_motion drive, uint64_t now)
{
	if (drive == m->drive)
		return;
	m->pos_start = cover_position_exact(m, now);
	if (drive == COVER_MOTION_NONE && m->settle != COVER_SETTLE_NONE) {
		m->pos_start = cover_end_position((enum cover_end)m->settle);
		m->known = true;
	}
	m->settle = COVER_SETTLE_NONE;
	m->drive = drive;
	m->move_start = now;
	m->next_report = now + m->cfg->position_interval_ms;
	if (drive == COVER_MOTION_NONE && m->want == COVER_MOTION_NONE) {
		m->due = true; /* publish where it stopped (not in the middle of a reversal) */
		m->publish = true;
	}
}

/* When the run the motor is on ends: at the target, past the computed end, or after
 * max_run_ms. *AT_END: it ends at the end by time. Only while the motor runs as wanted. */
static uint64_t cover_run_end(const struct cover *m, bool *at_end)
{
	uint64_t moving_from = m->move_start + m->cfg->start_delay_ms;
	uint64_t travel = cover_travel_ms(m, m->drive), t = COVER_NO_DEADLINE;
	uint64_t longest = m->move_start + m->cfg->max_run_ms;
	bool up = m->drive == COVER_MOTION_UP;

	*at_end = false;
	if (m->to_end) {
		enum cover_end end = up ? COVER_END_OPEN : COVER_END_CLOSED;

		if (!m->cfg->endstop[end]) {
			uint64_t dist = m->known ? cover_distance(cover_end_position(end), m->pos_start)
						 : COVER_FULL;

			t = moving_from + (dist * travel + COVER_FULL - 1) / COVER_FULL + travel / 10;
			*at_end = t <= longest;
		}
	} else if ((up && m->target < m->pos_start) || (!up && m->target > m->pos_start)) {
		t = m->move_start; /* already past it */
	} else {
		uint64_t dist = cover_distance(m->target, m->pos_start);

		t = moving_from + (dist * travel + COVER_FULL - 1) / COVER_FULL;
	}
	return t < longest ? t : longest;
}

/* Whether the position is published while the motor runs. */
static bool cover_reports(const struct cover *m)
{
	return m->cfg->position_interval_ms > 0 && m->drive != COVER_MOTION_NONE;
}

uint64_t cover_deadline(const struct cover *m)
{
	uint64_t t = COVER_NO_DEADLINE;
	bool at_end;

	if (m->due)
		return 0;
	if (m->want != COVER_MOTION_NONE && m->drive == m->want)
		t = cover_run_end(m, &at_end);
	if (cover_reports(m) && m->next_report < t)
		t = m->next_report;
	return t;
}

static enum cover_motion cover_cycle_motion(unsigned int cycle)
{
	if (cycle == COVER_CYCLE_OPENING)
		return COVER_MOTION_UP;
	return cycle == COVER_CYCLE_CLOSING ? COVER_MOTION_DOWN : COVER_MOTION_NONE;
}

/* The pulse wiring: the next pulse, when one is still needed and none is on its way. */
static void cover_pulse_next(struct cover *m, struct cover_out *out)
{
	if (m->pulse_on || m->in_flight || m->pulses == 0)
		return;
	m->pulses--;
	m->in_flight = true;
	cover_request(out, COVER_RELAY_PULSE, true, m->cfg->pulse_ms);
}

/* The pulse wiring: how many pulses take the opener from where it is to what is wanted. */
static void cover_pulse_plan(struct cover *m, struct cover_out *out)
{
	unsigned int goal, after;

	if (m->want == COVER_MOTION_UP)
		goal = COVER_CYCLE_OPENING;
	else if (m->want == COVER_MOTION_DOWN)
		goal = COVER_CYCLE_CLOSING;
	else
		goal = m->cycle % 2 == 0 ? m->cycle + 1 : m->cycle;
	if (m->in_flight && goal == m->cycle) {
		/* The pulse on its way (waiting for the dead time) is no longer wanted. */
		cover_request(out, COVER_RELAY_PULSE, false, 0);
		m->in_flight = false;
	}
	after = (m->cycle + (m->in_flight ? 1 : 0)) % COVER_CYCLES;
	m->pulses = (goal + COVER_CYCLES - after) % COVER_CYCLES;
	cover_pulse_next(m, out);
}

/* Asks the relays for MOTION: OFF before ON, always; the bridge's interlock adds the dead time. */
static void cover_relays_request(struct cover *m, enum cover_motion motion, struct cover_out *out)
{
	bool down = motion == COVER_MOTION_DOWN;

	switch (m->cfg->wiring) {
	case COVER_WIRING_UP_DOWN:
		if (motion == COVER_MOTION_NONE) {
			cover_request(out, COVER_RELAY_UP, false, 0);
			cover_request(out, COVER_RELAY_DOWN, false, 0);
		} else {
			cover_request(out, down ? COVER_RELAY_UP : COVER_RELAY_DOWN, false, 0);
			cover_request(out, down ? COVER_RELAY_DOWN : COVER_RELAY_UP, true, 0);
		}
		break;
	case COVER_WIRING_POWER_DIRECTION:
		if (motion == COVER_MOTION_NONE) {
			cover_request(out, COVER_RELAY_POWER, false, 0);
			cover_request(out, COVER_RELAY_DIRECTION, false, 0);
			break;
		}
		/* The direction changes only with the power asked OFF before it. */
		if (m->relay[COVER_RELAY_DIRECTION] != down) {
			cover_request(out, COVER_RELAY_POWER, false, 0);
			cover_request(out, COVER_RELAY_DIRECTION, down, 0);
		}
		cover_request(out, COVER_RELAY_POWER, true, 0);
		break;
	case COVER_WIRING_PULSE:
		cover_pulse_plan(m, out);
		break;
	}
}

static void cover_move(struct cover *m, enum cover_motion motion, uint32_t target, bool to_end,
		       struct cover_out *out)
{
	m->want = motion;
	m->target = target;
	m->to_end = to_end;
	m->settle = COVER_SETTLE_NONE;
	cover_relays_request(m, motion, out);
	out->changed = true;
}

/* A run to END, unless it is there: its end-stop says so, or it stands at that end (a garage
 * door opener would need three pulses to get there again, through a close). */
static void cover_move_to_end(struct cover *m, enum cover_end end, struct cover_out *out)
{
	bool standing = m->want == COVER_MOTION_NONE && m->drive == COVER_MOTION_NONE;

	if ((m->cfg->endstop[end] && m->endstop_active[end]) ||
	    (standing && m->known && m->pos_start == cover_end_position(end))) {
		cover_move(m, COVER_MOTION_NONE, 0, false, out);
		return;
	}
	cover_move(m, end == COVER_END_OPEN ? COVER_MOTION_UP : COVER_MOTION_DOWN,
		   cover_end_position(end), true, out);
}

int cover_command(struct cover *m, enum cover_command command, unsigned int position,
		  uint64_t now, struct cover_out *out)
{
	uint32_t target, here;

	if (m->obstructed && command != COVER_COMMAND_STOP) {
		if ((unsigned int)command > COVER_COMMAND_POSITION ||
		    (command == COVER_COMMAND_POSITION && position > 100))
			return -EINVAL;
		out->changed = true;
		return COVER_OUTCOME_OBSTRUCTED;
	}
	switch (command) {
	case COVER_COMMAND_OPEN:
		cover_move_to_end(m, COVER_END_OPEN, out);
		return 0;
	case COVER_COMMAND_CLOSE:
		cover_move_to_end(m, COVER_END_CLOSED, out);
		return 0;
	case COVER_COMMAND_STOP:
		cover_move(m, COVER_MOTION_NONE, 0, false, out);
		return 0;
	case COVER_COMMAND_POSITION:
		break;
	default:
		return -EINVAL;
	}
	if (position > 100)
		return -EINVAL;
	if (position == 100 || position == 0) {
		cover_move_to_end(m, position == 100 ? COVER_END_OPEN : COVER_END_CLOSED, out);
		return 0;
	}
	target = position * (COVER_FULL / 100);
	here = cover_position_exact(m, now);
	if (cover_distance(target, here) < COVER_FULL / 200) {
		/* There already: stop if it moves, else say where it is. */
		if (m->want != COVER_MOTION_NONE || m->drive != COVER_MOTION_NONE)
			cover_move(m, COVER_MOTION_NONE, 0, false, out);
		out->changed = true;
		return 0;
	}
	cover_move(m, target > here ? COVER_MOTION_UP : COVER_MOTION_DOWN, target, false, out);
	return 0;
}

void cover_button(struct cover *m, bool up, uint64_t now, struct cover_out *out)
{
	if (m->want != COVER_MOTION_NONE || m->drive != COVER_MOTION_NONE)
		cover_command(m, COVER_COMMAND_STOP, 0, now, out);
	else
		cover_command(m, up ? COVER_COMMAND_OPEN : COVER_COMMAND_CLOSE, 0, now, out);
}

void cover_obstruction(struct cover *m, bool active, uint64_t now, struct cover_out *out)
{
	(void)now;
	if (!m->cfg->obstruction || m->obstructed == active)
		return;
	m->obstructed = active;
	out->changed = true;
	if (active && (m->want != COVER_MOTION_NONE || m->drive != COVER_MOTION_NONE))
		cover_move(m, COVER_MOTION_NONE, 0, false, out); /* STOP */
}

bool cover_obstructed(const struct cover *m)
{
	return m->obstructed;
}

void cover_relay_driven(struct cover *m, enum cover_relay relay, bool active, uint64_t now)
{
	if ((unsigned int)relay >= COVER_RELAYS || !cover_relay_used(m->cfg, relay))
		return;
	m->relay[relay] = active;
	switch (m->cfg->wiring) {
	case COVER_WIRING_UP_DOWN:
		cover_drive_set(m, m->relay[COVER_RELAY_UP]     ? COVER_MOTION_UP
				   : m->relay[COVER_RELAY_DOWN] ? COVER_MOTION_DOWN
								: COVER_MOTION_NONE,
				now);
		break;
	case COVER_WIRING_POWER_DIRECTION:
		if (relay == COVER_RELAY_DIRECTION && m->relay[COVER_RELAY_POWER])
			cover_drive_set(m, COVER_MOTION_NONE, now); /* count anew from here */
		cover_drive_set(m, !m->relay[COVER_RELAY_POWER]       ? COVER_MOTION_NONE
				   : m->relay[COVER_RELAY_DIRECTION] ? COVER_MOTION_DOWN
								      : COVER_MOTION_UP,
				now);
		break;
	case COVER_WIRING_PULSE:
		if (active && !m->pulse_on) {
			m->pulse_on = true;
			m->in_flight = false;
			m->cycle = (m->cycle + 1) % COVER_CYCLES;
			cover_drive_set(m, cover_cycle_motion(m->cycle), now);
		} else if (!active && m->pulse_on) {
			m->pulse_on = false;
			if (m->pulses > 0)
				m->due = true;
		}
		break;
	}
}

/* The opener stopped by itself (the pulse wiring): at an end, or after max_run_ms. */
static void cover_opener_stopped(struct cover *m, uint64_t now)
{
	if (m->drive == COVER_MOTION_UP)
		m->cycle = COVER_CYCLE_STOPPED_UP;
	else if (m->drive == COVER_MOTION_DOWN)
		m->cycle = COVER_CYCLE_STOPPED_DOWN;
	m->pulses = 0;
	m->want = COVER_MOTION_NONE;
	cover_drive_set(m, COVER_MOTION_NONE, now);
}

void cover_endstop(struct cover *m, enum cover_end end, bool active, uint64_t now,
		   struct cover_out *out)
{
	enum cover_motion toward = end == COVER_END_OPEN ? COVER_MOTION_UP : COVER_MOTION_DOWN;

	if ((unsigned int)end > COVER_END_OPEN)
		return;
	m->endstop_active[end] = active;
	if (!active)
		return;
	if (m->drive == toward || m->want == toward) {
		m->settle = (int)end; /* the position once the motor is OFF */
		out->changed = true;
		if (m->cfg->wiring == COVER_WIRING_PULSE && m->drive == toward) {
			cover_opener_stopped(m, now);
			return;
		}
		m->want = COVER_MOTION_NONE;
		cover_relays_request(m, COVER_MOTION_NONE, out);
		if (m->drive != COVER_MOTION_NONE)
			return;
	}
	if (m->drive == COVER_MOTION_NONE &&
	    (m->pos_start != cover_end_position(end) || !m->known)) {
		m->pos_start = cover_end_position(end);
		m->known = true;
		m->settle = COVER_SETTLE_NONE;
		if (m->cfg->wiring == COVER_WIRING_PULSE)
			m->cycle = end == COVER_END_OPEN ? COVER_CYCLE_STOPPED_UP
							 : COVER_CYCLE_STOPPED_DOWN;
		out->changed = true;
	}
}

void cover_tick(struct cover *m, uint64_t now, struct cover_out *out)
{
	bool at_end, changed;

	if (m->due) {
		m->due = false;
		if (m->publish)
			out->changed = true;
		m->publish = false;
		if (m->cfg->wiring == COVER_WIRING_PULSE)
			cover_pulse_next(m, out);
	}
	if (cover_reports(m) && now >= m->next_report) {
		/* The position while it moves; the next one an interval on (none missed in a row). */
		m->next_report += m->cfg->position_interval_ms;
		if (m->next_report <= now)
			m->next_report = now + m->cfg->position_interval_ms;
		if (m->want == COVER_MOTION_NONE || m->drive != m->want ||
		    now < cover_run_end(m, &at_end))
			out->changed = true; /* (a run that ends now publishes its stop instead) */
	}
	if (m->want == COVER_MOTION_NONE || m->drive != m->want || now < cover_run_end(m, &at_end))
		return;
	/* The run is over: at the target, at the end (by time), or after max_run_ms. */
	if (at_end)
		m->settle = m->drive == COVER_MOTION_UP ? COVER_END_OPEN : COVER_END_CLOSED;
	if (m->cfg->wiring == COVER_WIRING_PULSE && (m->to_end || now >= m->move_start +
							      m->cfg->max_run_ms)) {
		/* An opener stops by itself at its ends: a pulse now would start it again. */
		cover_opener_stopped(m, now);
		out->changed = true;
		return;
	}
	changed = out->changed;
	cover_move(m, COVER_MOTION_NONE, 0, false, out);
	out->changed = changed; /* published once the motor is really OFF */
	if (at_end)
		m->settle = m->drive == COVER_MOTION_UP ? COVER_END_OPEN : COVER_END_CLOSED;
}

bool cover_position_known(const struct cover *m)
{
	return m->known;
}

bool cover_moving(const struct cover *m)
{
	return m->want != COVER_MOTION_NONE || m->drive != COVER_MOTION_NONE;
}

enum cover_state cover_state_get(const struct cover *m)
{
	if (m->want == COVER_MOTION_UP)
		return COVER_STATE_OPENING;
	if (m->want == COVER_MOTION_DOWN)
		return COVER_STATE_CLOSING;
	if (m->drive != COVER_MOTION_NONE)
		return COVER_STATE_STOPPED; /* asked to stop: the relay is on its way OFF */
	if (m->pos_start >= COVER_FULL)
		return COVER_STATE_OPEN;
	return m->pos_start == 0 ? COVER_STATE_CLOSED : COVER_STATE_STOPPED;
}

const char *cover_state_name(enum cover_state state)
{
	switch (state) {
	case COVER_STATE_OPEN:
		return "open";
	case COVER_STATE_OPENING:
		return "opening";
	case COVER_STATE_CLOSED:
		return "closed";
	case COVER_STATE_CLOSING:
		return "closing";
	case COVER_STATE_STOPPED:
		return "stopped";
	}
	return "unknown";
}

/* ---- payloads --------------------------------------------------------------------------- */

static bool cover_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void cover_trim(const char **p, size_t *len)
{
	while (*len > 0 && cover_is_space((*p)[0])) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && cover_is_space((*p)[*len - 1]))
		(*len)--;
}

/* A plain payload: a word or a position. */
static int cover_plain_parse(const char *p, size_t len, enum cover_command *command,
			     unsigned int *position)
{
	static const struct {
		const char *word;
		enum cover_command command;
	} words[] = {
		{ "open", COVER_COMMAND_OPEN },
		{ "close", COVER_COMMAND_CLOSE },
		{ "stop", COVER_COMMAND_STOP },
	};
	unsigned int v = 0;

	cover_trim(&p, &len);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i].word) == len && strncasecmp(p, words[i].word, len) == 0) {
			*command = words[i].command;
			return 0;
		}
	}
	if (len == 0 || len > 3)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(p[i] - '0');
	}
	if (v > 100)
		return -EINVAL;
	*command = COVER_COMMAND_POSITION;
	*position = v;
	return 0;
}

/* One JSON string without escapes at P: its contents in *S, *N; returns the bytes used or 0. */
static size_t cover_json_string(const char *p, size_t len, const char **s, size_t *n)
{
	size_t i;

	if (len < 2 || p[0] != '"')
		return 0;
	for (i = 1; i < len && p[i] != '"'; i++) {
		if (p[i] == '\\' || (unsigned char)p[i] < 0x20)
			return 0;
	}
	if (i == len)
		return 0;
	*s = p + 1;
	*n = i - 1;
	return i + 1;
}

/* {"position":N} or {"state":"OPEN"} ("command" for "state"): one member, no escapes. */
static int cover_json_parse(const char *p, size_t len, enum cover_command *command,
			    unsigned int *position)
{
	const char *key, *value;
	size_t key_len, value_len, used, i = 1;
	bool is_position;

	if (len < 2 || p[len - 1] != '}')
		return -EINVAL;
	len--;
	while (i < len && cover_is_space(p[i]))
		i++;
	used = cover_json_string(p + i, len - i, &key, &key_len);
	if (!used)
		return -EINVAL;
	i += used;
	if (key_len == 8 && memcmp(key, "position", 8) == 0)
		is_position = true;
	else if ((key_len == 5 && memcmp(key, "state", 5) == 0) ||
		 (key_len == 7 && memcmp(key, "command", 7) == 0))
		is_position = false;
	else
		return -EINVAL;
	while (i < len && cover_is_space(p[i]))
		i++;
	if (i == len || p[i] != ':')
		return -EINVAL;
	i++;
	if (is_position) {
		if (cover_plain_parse(p + i, len - i, command, position) < 0 ||
		    *command != COVER_COMMAND_POSITION)
			return -EINVAL;
		return 0;
	}
	while (i < len && cover_is_space(p[i]))
		i++;
	used = cover_json_string(p + i, len - i, &value, &value_len);
	if (!used)
		return -EINVAL;
	for (i += used; i < len; i++) {
		if (!cover_is_space(p[i]))
			return -EINVAL;
	}
	if (cover_plain_parse(value, value_len, command, position) < 0 ||
	    *command == COVER_COMMAND_POSITION)
		return -EINVAL;
	return 0;
}

int cover_command_parse(const void *payload, size_t len, enum cover_command *command,
			unsigned int *position)
{
	const char *p = payload;

	if (!p)
		return -EINVAL;
	if (memchr(p, '\0', len))
		return -EINVAL;
	cover_trim(&p, &len);
	if (len > 0 && p[0] == '{')
		return cover_json_parse(p, len, command, position);
	return cover_plain_parse(p, len, command, position);
}
