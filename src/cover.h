/* SPDX-License-Identifier: MIT */
#pragma once

/* A cover (a roller shutter, a blind, a garage door, a gate), pure: commands, the relay levels
 * as really driven, end-stop inputs and the time go in; requests for its relays and "publish
 * me" come out. No I/O, no clock. bridge.c owns the relays (outputs) and carries the requests
 * out under the rules every output shares; the model keeps the position.
 *
 * Safety, and who keeps it:
 * - The two directions never run together, and a reversal (or any restart of the motor) waits
 *   the dead time after the real OFF: the relays that start the motor are an interlock group
 *   (up + down; the power relay alone; the pulse output alone) with wait_ms = the dead time,
 *   and bridge.c's interlock rule holds them. This model never counts a dead time itself: it
 *   asks for OFF before ON, and the bridge delays the ON.
 * - The direction relay of a power + direction wiring changes only after the power relay was
 *   asked OFF, in the same batch, before it (the batch is carried out in order).
 * - STOP always asks every relay that can run the motor OFF, whatever the model believes.
 * - A run always ends: at the target, at the end (time-based, or at the end-stop), or after
 *   max_run_ms from the real ON at the latest.
 * - cover_init() requests nothing: a restart never starts a motor.
 *
 * Position: 0 is closed, 100 open (as Home Assistant's cover). It is counted from the real ON
 * of the motor, plus start_delay_ms (the motor's own delay before it moves), at travel_up_ms or
 * travel_down_ms for a full travel; a run to an end goes on for a tenth of the travel past the
 * computed end (or until the end-stop, when there is one), and the position is then exactly
 * that end again: each full run recalibrates it. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COVER_NO_DEADLINE UINT64_MAX
#define COVER_FULL 1000000U /* the position's unit: a millionth of the travel */

enum cover_wiring {
	COVER_WIRING_UP_DOWN,         /* an up relay and a down relay */
	COVER_WIRING_POWER_DIRECTION, /* a power relay and a direction relay (ON: down) */
	COVER_WIRING_PULSE,           /* one pulse output: a garage door opener's open/stop/close */
};

/* The outputs a cover drives, by role. A wiring uses two of them (the pulse wiring one). */
enum cover_relay {
	COVER_RELAY_UP,
	COVER_RELAY_DOWN,
	COVER_RELAY_POWER,
	COVER_RELAY_DIRECTION,
	COVER_RELAY_PULSE,
};
#define COVER_RELAYS 5

enum cover_end {
	COVER_END_CLOSED,
	COVER_END_OPEN,
};

enum cover_state {
	COVER_STATE_OPEN,
	COVER_STATE_OPENING,
	COVER_STATE_CLOSED,
	COVER_STATE_CLOSING,
	COVER_STATE_STOPPED,
};

enum cover_command {
	COVER_COMMAND_OPEN,
	COVER_COMMAND_CLOSE,
	COVER_COMMAND_STOP,
	COVER_COMMAND_POSITION, /* with a position 0..100 */
};

struct cover_config {
	enum cover_wiring wiring;
	unsigned int travel_up_ms;   /* a full travel from closed to open, > 0 */
	unsigned int travel_down_ms; /* from open to closed, > 0 */
	unsigned int start_delay_ms; /* from the motor's ON until it moves */
	unsigned int max_run_ms;     /* a run ends after this long at the latest, > 0 */
	unsigned int pulse_ms;       /* the pulse wiring: how long one pulse is, > 0 */
	bool endstop[2];             /* an end-stop input at COVER_END_CLOSED / COVER_END_OPEN */
	unsigned int position_interval_ms; /* while the motor runs, publish the position this
					    * often; 0: only when it starts and stops */
	bool obstruction;            /* an obstruction input: while active, nothing starts */
};

/* What one call asks for. */
struct cover_request {
	enum cover_relay relay;
	bool active;
	unsigned int pulse_ms; /* ON of the pulse output: its duration */
};

struct cover_out {
	struct cover_request items[4];
	size_t n;
	bool changed; /* the state or the position changed: publish them */
};

/* A motion: which way the motor runs or is asked to. */
enum cover_motion {
	COVER_MOTION_NONE,
	COVER_MOTION_UP,
	COVER_MOTION_DOWN,
};

/* The model; read it only through the functions below. */
struct cover {
	const struct cover_config *cfg;
	bool relay[COVER_RELAYS];   /* as really driven */
	enum cover_motion want;     /* what the last command asked */
	enum cover_motion drive;    /* what the motor does, from the relays (or the opener's cycle) */
	uint32_t target;            /* with want: where to stop, or the end to run to */
	bool to_end;                /* a run to the end, not to a position */
	bool known;                 /* the position is known (restored or recalibrated) */
	uint32_t pos_start;         /* the position when the motor started (or stopped) */
	uint64_t move_start;        /* when the motor really started */
	bool due;                   /* something to do at the next tick */
	bool publish;               /* with due: publish */
	int settle;                 /* -1, or the cover_end the position is once the motor stops */
	bool endstop_active[2];     /* the end-stop inputs' levels */
	/* the pulse wiring: the opener's cycle */
	unsigned int cycle;         /* 0 opening, 1 stopped after opening, 2 closing, 3 stopped
				     * after closing; as of the last pulse that went ON */
	bool in_flight;             /* a pulse asked for, not ON yet */
	bool pulse_on;              /* a pulse is ON */
	unsigned int pulses;        /* pulses still to send after those on their way */
	uint64_t next_report;       /* while the motor runs: when to publish the position next */
	bool obstructed;            /* the obstruction input is active */
};

/* Outcome of cover_command() other than 0: refused, the obstruction input is active. */
#define COVER_OUTCOME_OBSTRUCTED 1

/* POSITION 0..100, or -1 when unknown (then 50 is assumed until a full run). Requests nothing. */
void cover_init(struct cover *m, const struct cover_config *cfg, int position);

/* A command at NOW; POSITION only for COVER_COMMAND_POSITION (0..100). Returns 0 or -EINVAL.
 * The last command wins. While the obstruction input is active every command but STOP is
 * refused (COVER_OUTCOME_OBSTRUCTED; nothing asked, the state is echoed). */
int cover_command(struct cover *m, enum cover_command command, unsigned int position,
		  uint64_t now, struct cover_out *out);

/* A wall button for direction UP (true) or down at NOW: a press moves (to the end), a press of
 * either button while it moves or is asked to, stops. */
void cover_button(struct cover *m, bool up, uint64_t now, struct cover_out *out);

/* RELAY really went to ACTIVE at NOW. Requests nothing; what follows is due at the next tick. */
void cover_relay_driven(struct cover *m, enum cover_relay relay, bool active, uint64_t now);

/* An end-stop input became ACTIVE (reached) or not at NOW. */
void cover_endstop(struct cover *m, enum cover_end end, bool active, uint64_t now,
		   struct cover_out *out);

/* The obstruction input became ACTIVE or not at NOW. Active: a cover that moves (or is asked
 * to) is stopped at once, as by STOP, and none starts until it is inactive again. */
void cover_obstruction(struct cover *m, bool active, uint64_t now, struct cover_out *out);
bool cover_obstructed(const struct cover *m);

/* Carries out what is due at NOW (cover_deadline() has passed): the end of a run, and while the
 * motor runs, every position_interval_ms after its real ON, "publish me". */
void cover_tick(struct cover *m, uint64_t now, struct cover_out *out);
uint64_t cover_deadline(const struct cover *m);

enum cover_state cover_state_get(const struct cover *m);
/* The position at NOW, 0..100 (rounded), and in COVER_FULL units. */
unsigned int cover_position(const struct cover *m, uint64_t now);
uint32_t cover_position_exact(const struct cover *m, uint64_t now);
/* Whether the position is known (restored, or recalibrated by a full run or an end-stop). */
bool cover_position_known(const struct cover *m);
/* Whether the motor runs or is asked to. */
bool cover_moving(const struct cover *m);
/* Which relays the model uses for its wiring. */
bool cover_relay_used(const struct cover_config *cfg, enum cover_relay relay);

/* "open", "opening", "closed", "closing", "stopped". */
const char *cover_state_name(enum cover_state state);

/* OPEN, CLOSE, STOP (any case), a position 0..100, or JSON {"position":N} / {"state":"OPEN"}
 * (also "command" for "state"); surrounding whitespace ignored. Returns 0 or -EINVAL. */
int cover_command_parse(const void *payload, size_t len, enum cover_command *command,
			unsigned int *position);
