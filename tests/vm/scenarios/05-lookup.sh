# Line lookup: by line name, by chip label + offset, by chip name and path + offset, and one
# config spanning both chips.
exp_chip=$(sim_chip EXP0)
pi_chip=$(sim_chip GPIO0)
write_config /tmp/g.conf <<CONF
@BROKER@
inputs = (
  { name = "by_name"; line = "GPIO4"; },
  { name = "by_label"; chip = "pinctrl-bcm2711"; offset = 6; },
  { name = "exp_by_label"; chip = "gpio-sim-expander"; offset = 3; },
  { name = "exp_by_path"; chip = "/dev/$exp_chip"; offset = 12; }
);
outputs = (
  { name = "exp_by_name"; line = "EXP5"; },
  { name = "by_chipname"; chip = "$pi_chip"; offset = 16; }
);
CONF
daemon_start /tmp/g.conf || bail "daemon did not start"
check "online" mqtt_wait $BASE/status online 10
for l in GPIO4 GPIO6 EXP3 EXP12 EXP5 GPIO16; do
	is "$(line_consumer $l)" gpio2mqtt "$l is requested by gpio2mqtt"
done
is "$(lines_used_by gpio2mqtt)" 6 "exactly 6 lines requested"

# in_test NAME LINE
in_test() {
	sim_pull "$2" up
	check "$1 ($2) follows its line: ON" mqtt_wait "$BASE/$1" ON 5
	sim_pull "$2" down
	check "$1 ($2) follows its line: OFF" mqtt_wait "$BASE/$1" OFF 5
}
in_test by_name GPIO4
in_test by_label GPIO6
in_test exp_by_label EXP3
in_test exp_by_path EXP12
mqtt_pub $BASE/exp_by_name/set ON -q 1
check "exp_by_name echoed ON" mqtt_wait $BASE/exp_by_name ON 5
is "$(sim_value EXP5)" 1 "EXP5 driven high"
mqtt_pub $BASE/by_chipname/set ON -q 1
check "by_chipname echoed ON" mqtt_wait $BASE/by_chipname ON 5
is "$(sim_value GPIO16)" 1 "GPIO16 ($pi_chip offset 16) driven high"
is "$(sim_value gpio-sim-expander:16 2>/dev/null)" "" "(sanity: the expander has no offset 16)"
is "$(sim_value EXP16 2>/dev/null)$(sim_value GPIO5)" 0 "neighbouring lines untouched"
