/* SPDX-License-Identifier: MIT */
/* The pulse counter's pure logic (src/meter.c): counting, units, rate and its decay, the
 * publish and save policies. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "meter.h"
#include "tap.h"

#define S(x) ((uint64_t)(x) * 1000000000ULL)
#define MS(x) ((uint64_t)(x) * 1000000ULL)

/* An S0 electricity meter: 1000 pulses per kWh, the total in kWh with 3 decimals, the power
 * in W (kWh per hour times 1000). */
static struct meter_settings settings_s0(void)
{
	return (struct meter_settings){
		.pulses_per_unit = 1000,
		.precision = 3,
		.rate_scale = 1000,
		.rate_period_s = 3600,
		.rate_precision = 0,
		.rate_interval_ms = 10000,
		.rate_threshold_pct = 5,
		.rate_timeout_s = 600,
		.save_pulses = 100,
		.save_interval_s = 60,
	};
}

static void test_counting(void)
{
	struct meter_settings s = settings_s0();
	struct meter m;
	int counted = 0;

	meter_init(&m, 41);
	for (int i = 0; i < 10; i++) {
		counted += meter_edge(&m, &s, true, S(1 + i));
		counted += meter_edge(&m, &s, false, S(1 + i) + MS(40));
	}
	tap_is_int(counted, 10, "rising: one count per pulse, the release does not count");
	tap_is_int((long long)m.count, 51, "the count continues from the restored one");

	s.count_inactive = true;
	meter_init(&m, 0);
	tap_ok(!meter_edge(&m, &s, true, S(1)), "falling: the edge to active does not count");
	tap_ok(meter_edge(&m, &s, false, S(1) + MS(40)), "falling: the edge to inactive counts");
	tap_is_int((long long)m.count, 1, "falling: one pulse");

	meter_init(&m, UINT64_MAX - 1);
	s.count_inactive = false;
	tap_ok(meter_edge(&m, &s, true, S(1)), "a count near 2^64 still counts");
	tap_ok(!meter_edge(&m, &s, true, S(2)), "2^64 - 1 is the end: it never wraps to 0");
	tap_ok(m.count == UINT64_MAX, "the count stays at 2^64 - 1");

	meter_init(&m, 7);
	meter_lost(&m, 3);
	meter_lost(&m, 2);
	tap_is_int((long long)m.edges_lost, 5, "lost edges are counted");
	tap_is_int((long long)m.count, 7, "lost edges do not change the count");
}

static void test_total_format(void)
{
	struct meter_settings s = settings_s0();
	char buf[32];

	meter_total_format(12345678, &s, buf, sizeof(buf));
	tap_is_str(buf, "12345.678", "1000 imp/kWh, 3 decimals");
	meter_total_format(5, &s, buf, sizeof(buf));
	tap_is_str(buf, "0.005", "leading zeros of the fraction");
	s.precision = 1;
	meter_total_format(12345678, &s, buf, sizeof(buf));
	tap_is_str(buf, "12345.6", "truncated, never rounded up past what was counted");
	s.precision = 0;
	meter_total_format(999, &s, buf, sizeof(buf));
	tap_is_str(buf, "0", "no decimals: 999 pulses are not yet 1 kWh");
	/* A water meter: 1 pulse per 10 L, the total in m^3 (100 pulses per m^3). */
	s.pulses_per_unit = 100;
	s.precision = 3;
	meter_total_format(123457, &s, buf, sizeof(buf));
	tap_is_str(buf, "1234.570", "100 imp/m3 with 3 decimals");
	/* The largest count: exact, which a double (53 bits) could not be. */
	s.pulses_per_unit = 1;
	s.precision = 0;
	meter_total_format(UINT64_MAX, &s, buf, sizeof(buf));
	tap_is_str(buf, "18446744073709551615", "2^64 - 1 pulses printed exactly");
	s.pulses_per_unit = 1000000;
	s.precision = 6;
	meter_total_format(UINT64_MAX, &s, buf, sizeof(buf));
	tap_is_str(buf, "18446744073709.551615", "10^6 imp/unit and 6 decimals, exact");
	tap_is_int(meter_total_format(UINT64_MAX, &s, buf, 8), -ENOSPC, "too small a buffer");
}

static void test_total_parse(void)
{
	struct meter_settings s = settings_s0();
	uint64_t count = 0;

	tap_is_int(meter_total_parse("12345.678", 9, &s, &count), 0, "a total parses");
	tap_is_int((long long)count, 12345678, "12345.678 kWh are 12345678 pulses");
	tap_is_int(meter_total_parse(" 42\n", 4, &s, &count), 0, "an integer with whitespace");
	tap_is_int((long long)count, 42000, "42 kWh");
	meter_total_parse(".5", 2, &s, &count);
	tap_is_int((long long)count, 500, ".5 kWh");
	meter_total_parse("0.0004", 6, &s, &count);
	tap_is_int((long long)count, 0, "0.0004 kWh rounds to 0 pulses");
	meter_total_parse("0.0005", 6, &s, &count);
	tap_is_int((long long)count, 1, "0.0005 kWh rounds to 1 pulse");
	tap_is_int(meter_total_parse("-1", 2, &s, &count), -EINVAL, "negative refused");
	tap_is_int(meter_total_parse("1e3", 3, &s, &count), -EINVAL, "exponent refused");
	tap_is_int(meter_total_parse("reset", 5, &s, &count), -EINVAL, "a word refused");
	tap_is_int(meter_total_parse(".", 1, &s, &count), -EINVAL, "a lone dot refused");
	tap_is_int(meter_total_parse("", 0, &s, &count), -EINVAL, "empty refused");
	tap_is_int(meter_total_parse("1.0000000001", 12, &s, &count), -EINVAL,
		   "more than 9 decimals refused");
	tap_is_int(meter_total_parse("1\0002", 3, &s, &count), -EINVAL, "embedded NUL refused");
	tap_is_int(meter_total_parse("18446744073709552", 17, &s, &count), -ERANGE,
		   "more pulses than 64 bits refused");
	s.pulses_per_unit = 1;
	tap_is_int(meter_total_parse("18446744073709551615", 20, &s, &count), 0, "2^64 - 1");
	tap_ok(count == UINT64_MAX, "2^64 - 1 exactly");
	tap_is_int(meter_total_parse("18446744073709551616", 20, &s, &count), -ERANGE, "2^64");
}

static void test_rate(void)
{
	struct meter_settings s = settings_s0();
	char buf[32];
	struct meter m;

	meter_init(&m, 0);
	tap_ok(meter_rate(&m, &s, S(10)) == 0.0, "no pulse: 0 W");
	meter_edge(&m, &s, true, S(10));
	tap_ok(meter_rate(&m, &s, S(10)) == 0.0, "one pulse since start: no interval, 0 W");
	/* 1000 imp/kWh, a pulse every 3.6 s: 1 kW. */
	meter_edge(&m, &s, true, S(10) + MS(3600));
	meter_rate_format(meter_rate(&m, &s, S(10) + MS(3600)), &s, buf, sizeof(buf));
	tap_is_str(buf, "1000", "a pulse every 3.6 s at 1000 imp/kWh is 1000 W");
	meter_rate_format(meter_rate(&m, &s, S(10) + MS(5000)), &s, buf, sizeof(buf));
	tap_is_str(buf, "1000", "within the last interval the rate holds");
	/* 36 s after the last pulse: one pulse now would mean 100 W. */
	meter_rate_format(meter_rate(&m, &s, S(10) + MS(3600) + S(36)), &s, buf, sizeof(buf));
	tap_is_str(buf, "100", "after a gap of 36 s: what one pulse now would mean");
	for (uint64_t gap = S(4); gap < S(600); gap += S(7)) {
		double r = meter_rate(&m, &s, S(10) + MS(3600) + gap);
		double bound = 1000.0 * 3600.0 / 1000.0 * 1e9 / (double)gap;

		if (!tap_ok(r <= bound + 1e-9, "decay: never above one pulse now (gap %llu"
			    " s)", (unsigned long long)(gap / S(1))))
			break;
		if (gap > S(500))
			break;
	}
	tap_ok(meter_rate(&m, &s, S(10) + MS(3600) + S(600)) == 0.0, "after rate_timeout_s: 0 W");
	/* A water meter: 1 pulse per litre (1000 per m^3), the flow in L/min. */
	s.pulses_per_unit = 1000;
	s.rate_scale = 1000;
	s.rate_period_s = 60;
	s.rate_precision = 1;
	meter_init(&m, 0);
	meter_edge(&m, &s, true, S(1));
	meter_edge(&m, &s, true, S(1) + MS(4000));
	meter_rate_format(meter_rate(&m, &s, S(5)), &s, buf, sizeof(buf));
	tap_is_str(buf, "15.0", "a litre every 4 s is 15.0 L/min");
	meter_set(&m, 0);
	tap_ok(meter_rate(&m, &s, S(5)) == 0.0, "a set total starts the rate over");
}

static void test_rate_policy(void)
{
	struct meter_settings s = settings_s0();
	struct meter m;

	meter_init(&m, 0);
	tap_ok(meter_rate_due(&m, &s, 0.0, S(1)), "the first rate is published");
	meter_rate_published(&m, 0.0, S(1));
	tap_ok(!meter_rate_due(&m, &s, 0.0, S(100)), "an unchanged rate is not published again");
	tap_ok(!meter_rate_due(&m, &s, 500.0, S(5)), "not sooner than rate_interval_ms");
	tap_ok(meter_rate_due(&m, &s, 500.0, S(11)), "from 0 to 500 after the interval");
	meter_rate_published(&m, 500.0, S(11));
	tap_ok(!meter_rate_due(&m, &s, 520.0, S(30)), "a change of 4 %% is below the threshold");
	tap_ok(meter_rate_due(&m, &s, 530.0, S(30)), "a change of 6 %% is above it");
	tap_ok(meter_rate_due(&m, &s, 0.0, S(30)), "back to 0 is published");
	tap_is_int((long long)meter_next_deadline(&m, &s, S(12)), (long long)S(21),
		   "a non-zero rate is looked at again after the interval (decay)");
	tap_is_int((long long)meter_next_deadline(&m, &s, S(40)), (long long)S(50),
		   "and again an interval later");
	meter_rate_published(&m, 0.0, S(40));
	tap_ok(meter_next_deadline(&m, &s, S(41)) == METER_NO_DEADLINE,
	       "a rate of 0 with nothing unsaved needs no timer");
	s.rate_interval_ms = 0;
	meter_rate_published(&m, 300.0, S(50));
	tap_is_int((long long)meter_next_deadline(&m, &s, S(50)), (long long)S(51),
		   "rate_interval_ms = 0: a decaying rate is looked at once a second, no more");
}

static void test_save_policy(void)
{
	struct meter_settings s = settings_s0();
	struct meter m;

	meter_init(&m, 1000);
	tap_ok(!meter_dirty(&m), "restored: nothing unsaved");
	tap_ok(!meter_save_due(&m, &s, S(1000)), "nothing unsaved: no save");
	meter_edge(&m, &s, true, S(10));
	tap_ok(meter_dirty(&m), "a pulse is unsaved");
	tap_ok(!meter_save_due(&m, &s, S(69)), "not before save_interval_s");
	tap_ok(meter_save_due(&m, &s, S(70)), "save_interval_s after the first unsaved pulse");
	tap_is_int((long long)meter_next_deadline(&m, &s, S(11)), (long long)S(70),
		   "the save deadline is the timer");
	for (int i = 1; i < 99; i++)
		meter_edge(&m, &s, true, S(10) + MS(10 * (uint64_t)i));
	tap_ok(!meter_save_due(&m, &s, S(11)), "99 unsaved pulses: not yet");
	meter_edge(&m, &s, true, S(11) + MS(1));
	tap_ok(meter_save_due(&m, &s, S(11) + MS(1)), "100 unsaved pulses: save now");
	meter_saved(&m, m.count);
	tap_ok(!meter_dirty(&m), "saved: nothing unsaved");
	tap_is_int((long long)m.saved, 1100, "the saved count");
	/* A save of an older count (a pulse came while it was written) leaves it dirty. */
	meter_edge(&m, &s, true, S(12));
	meter_saved(&m, m.count - 1);
	tap_ok(meter_dirty(&m), "a pulse newer than the save stays unsaved");
	s.save_pulses = 0;
	meter_init(&m, 0);
	for (int i = 0; i < 1000; i++)
		meter_edge(&m, &s, true, S(1) + MS((uint64_t)i));
	tap_ok(!meter_save_due(&m, &s, S(2)), "save_pulses = 0: by time only");
	meter_set(&m, 5);
	tap_ok(meter_dirty(&m), "a set total is unsaved until written");
}

int main(void)
{
	test_counting();
	test_total_format();
	test_total_parse();
	test_rate();
	test_rate_policy();
	test_save_policy();
	return tap_done();
}
