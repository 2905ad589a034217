/* SPDX-License-Identifier: MIT */
/* A push button: presses become events, "single", "double" (with double_press_ms) and "long"
 * (held for long_press_ms), on <base>/<name>/event. Bindings act on each press (bridge.c);
 * publish_state = true adds its level as a state. */
#include "config_schema.h"
#include "kind.h"

enum kind_button_state {
	KIND_BUTTON_IDLE,
	KIND_BUTTON_PRESSED,   /* first press, held: long press at the deadline */
	KIND_BUTTON_RELEASED,  /* released after a short press: single at the deadline */
	KIND_BUTTON_PRESSED2,  /* second press within the window: double on release */
	KIND_BUTTON_LONG_HELD, /* long press reported; wait for the release */
};

static void kind_button_emit(struct kind_events *out, enum kind_event event)
{
	if (out->n < sizeof(out->items) / sizeof(out->items[0]))
		out->items[out->n++] = event;
}

static void kind_button_set(struct kind_slot *s, enum kind_button_state state, uint64_t deadline)
{
	s->state = state;
	s->deadline = deadline;
}

static void kind_button_start(const struct config_pin *c, struct kind_slot *s, bool level)
{
	/* A button held at start is not a press: wait for its release. */
	kind_button_set(s, level ? KIND_BUTTON_LONG_HELD : KIND_BUTTON_IDLE, KIND_NO_DEADLINE);
}

static void kind_button_edge(const struct config_pin *c, struct kind_slot *s, bool active,
			     uint64_t now, struct kind_events *out)
{
	switch ((enum kind_button_state)s->state) {
	case KIND_BUTTON_IDLE:
		if (active)
			kind_button_set(s, KIND_BUTTON_PRESSED, now + c->long_press_ms);
		break;
	case KIND_BUTTON_PRESSED:
		if (active)
			break;
		if (c->double_press_ms == 0) {
			kind_button_emit(out, KIND_EVENT_SINGLE);
			kind_button_set(s, KIND_BUTTON_IDLE, KIND_NO_DEADLINE);
		} else {
			kind_button_set(s, KIND_BUTTON_RELEASED, now + c->double_press_ms);
		}
		break;
	case KIND_BUTTON_RELEASED:
		if (active)
			kind_button_set(s, KIND_BUTTON_PRESSED2, now + c->long_press_ms);
		break;
	case KIND_BUTTON_PRESSED2:
		if (active)
			break;
		kind_button_emit(out, KIND_EVENT_DOUBLE);
		kind_button_set(s, KIND_BUTTON_IDLE, KIND_NO_DEADLINE);
		break;
	case KIND_BUTTON_LONG_HELD:
		if (!active)
			kind_button_set(s, KIND_BUTTON_IDLE, KIND_NO_DEADLINE);
		break;
	}
}

static void kind_button_timeout(const struct config_pin *c, struct kind_slot *s, uint64_t now,
				struct kind_events *out)
{
	s->deadline = KIND_NO_DEADLINE;
	switch ((enum kind_button_state)s->state) {
	case KIND_BUTTON_PRESSED:
		kind_button_emit(out, KIND_EVENT_LONG);
		s->state = KIND_BUTTON_LONG_HELD;
		break;
	case KIND_BUTTON_RELEASED:
		kind_button_emit(out, KIND_EVENT_SINGLE);
		s->state = KIND_BUTTON_IDLE;
		break;
	case KIND_BUTTON_PRESSED2:
		/* A short press, then one held: a single press, then a long one. */
		kind_button_emit(out, KIND_EVENT_SINGLE);
		kind_button_emit(out, KIND_EVENT_LONG);
		s->state = KIND_BUTTON_LONG_HELD;
		break;
	case KIND_BUTTON_IDLE:
	case KIND_BUTTON_LONG_HELD:
		break;
	}
}

const struct pin_kind kind_button = {
	.name = "button",
	.config_kind = CONFIG_KIND_BUTTON,
	.start = kind_button_start,
	.edge = kind_button_edge,
	.timeout = kind_button_timeout,
	.has_state = kind_input_has_state,
	.has_events = true,
	.toggles_on_press = true,
	.ha_component = kind_input_ha_component,
	.homie_type = "input",
	.persists = kind_input_persists,
};
