/* SPDX-License-Identifier: MIT */
#include "command.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kind.h"
#include "log.h"

/* A payload as it may appear in a log line: at most 40 bytes, non-printable bytes escaped. */
static void command_payload_quote(const char *payload, size_t len, char *buf, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 5 < size; i++) {
		unsigned char c = (unsigned char)payload[i];

		if (i == 40) {
			n += (size_t)snprintf(buf + n, size - n, "...");
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
	}
	buf[n] = '\0';
}

int command_json_parse(const char *payload, size_t len, enum bridge_command *out)
{
	const cJSON *state;
	cJSON *doc;
	size_t i = 0;
	int r;

	while (i < len && (payload[i] == ' ' || payload[i] == '\t' || payload[i] == '\r' ||
			   payload[i] == '\n'))
		i++;
	if (i == len || payload[i] != '{')
		return bridge_command_parse(payload, len, out);
	doc = cJSON_ParseWithLength(payload, len);
	if (!doc)
		return -EINVAL;
	state = cJSON_GetObjectItemCaseSensitive(doc, "state");
	r = cJSON_IsString(state) ? bridge_command_parse(state->valuestring,
							strlen(state->valuestring), out)
				  : -EINVAL;
	cJSON_Delete(doc);
	return r;
}

/* A command for cover PIN: OPEN, CLOSE, STOP, a position 0..100, or their JSON forms. */
static int command_cover_apply(struct bridge *bridge, const struct config *cfg,
			       const struct mqtt_event *ev, bool pulse, size_t pin,
			       const char *quoted, uint64_t now)
{
	const char *name = cfg->pins[pin].name;
	enum cover_command command;
	unsigned int position = 0;
	int r;

	if (pulse) {
		log_warning("cover '%s': pulse '%s' ignored: a cover takes OPEN, CLOSE, STOP or a "
			    "position on its set topic", name, quoted);
		return COMMAND_OUTCOME_IGNORED;
	}
	if (ev->retain && !cfg->pins[pin].accept_retained) {
		log_notice("cover '%s': retained command '%s' ignored (a stale command left on the "
			   "broker; set accept_retained = true on the cover to act on them)",
			   name, quoted);
		return COMMAND_OUTCOME_IGNORED;
	}
	if (cover_command_parse(ev->payload, ev->payload_len, &command, &position) < 0) {
		log_warning("cover '%s': command '%s' ignored: expected OPEN, CLOSE, STOP, a "
			    "position 0 to 100, or {\"position\":N}", name, quoted);
		return COMMAND_OUTCOME_IGNORED;
	}
	r = bridge_cover_command(bridge, pin, command, position, now);
	if (r == BRIDGE_OUTCOME_OBSTRUCTED)
		log_warning("cover '%s': command '%s' refused: its obstruction input '%s' is active",
			    name, quoted, cfg->pins[cfg->pins[pin].cover_obstruction].name);
	return r;
}

int command_apply(struct bridge *bridge, const struct config *cfg, const struct mqtt_event *ev,
		  int route, const struct topics_match *m, uint64_t now)
{
	enum bridge_command command;
	unsigned int duration_ms;
	bool pulse = route == TOPICS_ROUTE_PULSE;
	size_t pin = m->pin;
	const char *name;
	char quoted[256];
	int r;

	/* An empty message is how a retained command is deleted from the broker (mosquitto_pub
	 * -r -n): the broker passes the deletion on to subscribers. It is no command. */
	if (ev->payload_len == 0) {
		log_debug("mqtt: empty message on '%s' ignored (a retained command cleared)",
			  ev->topic);
		return COMMAND_OUTCOME_IGNORED;
	}
	if (route == TOPICS_ROUTE_UNKNOWN_PIN) {
		log_warning("mqtt: command on '%s' ignored: no pin called '%.*s'", ev->topic,
			    (int)m->name_len, m->name);
		return COMMAND_OUTCOME_IGNORED;
	}
	name = cfg->pins[pin].name;
	command_payload_quote(ev->payload, ev->payload_len, quoted, sizeof(quoted));
	if (cfg->pins[pin].is_cover)
		return command_cover_apply(bridge, cfg, ev, pulse, pin, quoted, now);
	if (!kind_of(&cfg->pins[pin])->is_output) {
		log_warning("pin '%s': command '%s' ignored: the pin is an input", name, quoted);
		return COMMAND_OUTCOME_IGNORED;
	}
	if (ev->retain && !cfg->pins[pin].accept_retained) {
		log_notice("pin '%s': retained command '%s' ignored (a stale command left on the "
			   "broker; set accept_retained = true on the pin to act on them)",
			   name, quoted);
		return COMMAND_OUTCOME_IGNORED;
	}
	if (pulse) {
		if (bridge_pulse_parse(ev->payload, ev->payload_len, &duration_ms) < 0) {
			log_warning("pin '%s': pulse '%s' ignored: expected milliseconds, 1 to %u",
				    name, quoted, BRIDGE_PULSE_MAX_MS);
			return COMMAND_OUTCOME_IGNORED;
		}
		r = bridge_output_pulse(bridge, pin, duration_ms, now);
	} else {
		bool json = cfg->pins[pin].payload == CONFIG_PAYLOAD_JSON;

		if ((json ? command_json_parse(ev->payload, ev->payload_len, &command)
			  : bridge_command_parse(ev->payload, ev->payload_len, &command)) < 0) {
			log_warning("pin '%s': command '%s' ignored: expected ON, OFF or TOGGLE%s",
				    name, quoted, json ? " or {\"state\":\"ON\"}" : "");
			return COMMAND_OUTCOME_IGNORED;
		}
		r = bridge_output_command(bridge, pin, command, now);
	}
	if (r == -EPERM) {
		log_warning("pin '%s': %s '%s' ignored: the output is a cover's relay (command the "
			    "cover)", name, pulse ? "pulse" : "command", quoted);
		return COMMAND_OUTCOME_IGNORED;
	}
	return r;
}

void command_log_applied(const struct bridge *bridge, const struct config *cfg,
			 const struct mqtt_event *ev, int route, const struct topics_match *m,
			 int r)
{
	const char *name, *what = route == TOPICS_ROUTE_PULSE ? "pulse" : "command";
	char quoted[256];

	if (r == COMMAND_OUTCOME_IGNORED || route == TOPICS_ROUTE_UNKNOWN_PIN || r < 0)
		return;
	name = cfg->pins[m->pin].name;
	command_payload_quote(ev->payload, ev->payload_len, quoted, sizeof(quoted));
	if (cfg->pins[m->pin].is_cover) {
		if (r != BRIDGE_OUTCOME_OBSTRUCTED) /* command_apply() said why it was refused */
			log_info("cover '%s': command '%s'", name, quoted);
	}
	else if (r == BRIDGE_OUTCOME_CHANGED)
		log_info("pin '%s': %s (%s '%s')", name,
			 bridge_state_payload(bridge_pin_active(bridge, m->pin)), what, quoted);
	else if (r == BRIDGE_OUTCOME_PENDING)
		log_info("pin '%s': ON after the interlock wait (%s '%s')", name, what, quoted);
}

