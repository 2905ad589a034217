/* SPDX-License-Identifier: MIT */
#pragma once

/* A command from MQTT (<base>/<name>/set, /pulse, Homie's .../state/set) to an output: the
 * payload parsed, what must be refused refused with one log line (no such pin, an input, a
 * retained command, a payload that is no command), the rest handed to the bridge. */

#include <stdint.h>

#include "bridge.h"
#include "config.h"
#include "mqtt.h"
#include "topics.h"

enum command_outcome {
	/* Refused (and logged); the bridge was not called. Above every bridge_outcome. */
	COMMAND_OUTCOME_IGNORED = 100,
};

/* A command on a pin with payload = "json": the plain words (bridge_command_parse()), or a JSON
 * object whose "state" member is one of them ({"state":"ON"}, as Home Assistant's JSON-schema
 * entities and zigbee2mqtt send), other members ignored. Returns 0 or -EINVAL. */
int command_json_parse(const char *payload, size_t len, enum bridge_command *out);

/* EV was routed (topics_route()) to ROUTE with M. Returns COMMAND_OUTCOME_IGNORED, or what the
 * bridge returned (a bridge_outcome or a negative errno; its actions are then to be carried
 * out). NOW: milliseconds, monotonic. */
int command_apply(struct bridge *bridge, const struct config *cfg, const struct mqtt_event *ev,
		  int route, const struct topics_match *m, uint64_t now);

/* The info line for what command_apply() returned (R) for EV, if it says one: "pin 'X': ON
 * (command 'ON')", "cover 'X': command 'OPEN'". The caller writes it once the bridge's actions
 * were carried out, so a log write never stands between a command and the line it drives. */
void command_log_applied(const struct bridge *bridge, const struct config *cfg,
			 const struct mqtt_event *ev, int route, const struct topics_match *m,
			 int r);
