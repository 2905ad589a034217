// SPDX-License-Identifier: GPL-2.0
/*
 * A PWM chip for gpio2mqtt's VM tests (no Debian kernel has a PWM simulator): platform device
 * "pwm-test.0" with PWM_TEST_NPWM channels whose apply() takes every state the PWM core hands
 * it. The core's own pwm:pwm_apply tracepoint records each one (what the scenarios read); the
 * chip also counts them and shows the last state of every channel in the device's "applied"
 * attribute: "CHANNEL PERIOD DUTY POLARITY ENABLED" per line after "applied N". Like real
 * hardware it has a limit: a period below PWM_TEST_PERIOD_MIN_NS (above 100 kHz) is refused
 * with -EINVAL, which the PWM core hands back to the write() on the period attribute.
 *
 * Module parameter hold=N: channel N is held the way a kernel consumer (pwm-leds, pwm-fan, a
 * backlight) holds one: marked requested in the core's own bookkeeping with the label
 * "pwm-test-hold", so an export through sysfs gets the core's -EBUSY and debugfs lists it as
 * requested. (pwm_request_from_chip() is not exported to modules in 6.12, nor pwm_add_table()
 * in either kernel, so the module cannot simply pwm_get() its own channel; and a real request
 * would pin the module until it is released.) Released before the chip goes.
 *
 * Builds against 6.1 (struct pwm_chip embedded in the driver's struct, ops->owner) and 6.12
 * (devm_pwmchip_alloc(), pwmchip_get_drvdata(), pwmchip_add() passing THIS_MODULE itself).
 */
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/pwm.h>
#include <linux/version.h>

#define PWM_TEST_NPWM 4
#define PWM_TEST_PERIOD_MIN_NS 10000
#define PWM_TEST_NEW_API (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0))

struct pwm_test {
#if !PWM_TEST_NEW_API
	struct pwm_chip chip;
#endif
	struct mutex lock;
	struct pwm_state last[PWM_TEST_NPWM];
	unsigned long applied;
};

static struct platform_device *pwm_test_pdev;

static int hold = -1;
module_param(hold, int, 0444);
MODULE_PARM_DESC(hold, "a channel held as an in-kernel consumer holds one (-1: none)");

static struct pwm_test *pwm_test_of(struct pwm_chip *chip)
{
#if PWM_TEST_NEW_API
	return pwmchip_get_drvdata(chip);
#else
	return container_of(chip, struct pwm_test, chip);
#endif
}

static int pwm_test_apply(struct pwm_chip *chip, struct pwm_device *pwm,
			  const struct pwm_state *state)
{
	struct pwm_test *t = pwm_test_of(chip);

	if (state->enabled && state->period < PWM_TEST_PERIOD_MIN_NS)
		return -EINVAL;
	mutex_lock(&t->lock);
	t->last[pwm->hwpwm] = *state;
	t->applied++;
	mutex_unlock(&t->lock);
	return 0;
}

static const struct pwm_ops pwm_test_ops = {
	.apply = pwm_test_apply,
#if !PWM_TEST_NEW_API
	.owner = THIS_MODULE,
#endif
};

static ssize_t applied_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct pwm_test *t = dev_get_drvdata(dev);
	int n, i;

	mutex_lock(&t->lock);
	n = sysfs_emit(buf, "applied %lu\n", t->applied);
	for (i = 0; i < PWM_TEST_NPWM; i++)
		n += sysfs_emit_at(buf, n, "%d %llu %llu %s %d\n", i,
				   (unsigned long long)t->last[i].period,
				   (unsigned long long)t->last[i].duty_cycle,
				   t->last[i].polarity == PWM_POLARITY_INVERSED ? "inversed" : "normal",
				   t->last[i].enabled ? 1 : 0);
	mutex_unlock(&t->lock);
	return n;
}
static DEVICE_ATTR_RO(applied);

static struct attribute *pwm_test_attrs[] = {
	&dev_attr_applied.attr,
	NULL,
};
ATTRIBUTE_GROUPS(pwm_test);

/* The end of hold=N (a devm action: runs before the chip is removed). */
static void pwm_test_release(void *data)
{
	struct pwm_device *pwm = data;

	pwm->label = NULL;
	clear_bit(PWMF_REQUESTED, &pwm->flags);
}

static int pwm_test_probe(struct platform_device *pdev)
{
	struct pwm_chip *chip;
	struct pwm_device *pwm;
	struct pwm_test *t;
	int r;

#if PWM_TEST_NEW_API
	chip = devm_pwmchip_alloc(&pdev->dev, PWM_TEST_NPWM, sizeof(*t));
	if (IS_ERR(chip))
		return PTR_ERR(chip);
	t = pwmchip_get_drvdata(chip);
#else
	t = devm_kzalloc(&pdev->dev, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	chip = &t->chip;
	chip->dev = &pdev->dev;
	chip->npwm = PWM_TEST_NPWM;
#endif
	chip->ops = &pwm_test_ops;
	mutex_init(&t->lock);
	platform_set_drvdata(pdev, t);
	r = devm_pwmchip_add(&pdev->dev, chip);
	if (r || hold < 0)
		return r;
	if (hold >= PWM_TEST_NPWM)
		return -EINVAL;
	pwm = &chip->pwms[hold];
	if (test_and_set_bit(PWMF_REQUESTED, &pwm->flags))
		return -EBUSY;
	pwm->label = "pwm-test-hold";
	return devm_add_action_or_reset(&pdev->dev, pwm_test_release, pwm);
}

static struct platform_driver pwm_test_driver = {
	.probe = pwm_test_probe,
	.driver = {
		.name = "pwm-test",
		.dev_groups = pwm_test_groups,
	},
};

static int __init pwm_test_init(void)
{
	int r = platform_driver_register(&pwm_test_driver);

	if (r)
		return r;
	pwm_test_pdev = platform_device_register_simple("pwm-test", 0, NULL, 0);
	if (IS_ERR(pwm_test_pdev)) {
		platform_driver_unregister(&pwm_test_driver);
		return PTR_ERR(pwm_test_pdev);
	}
	return 0;
}

static void __exit pwm_test_exit(void)
{
	platform_device_unregister(pwm_test_pdev);
	platform_driver_unregister(&pwm_test_driver);
}

module_init(pwm_test_init);
module_exit(pwm_test_exit);
MODULE_DESCRIPTION("A PWM chip that records what it is asked for (gpio2mqtt VM tests)");
MODULE_LICENSE("GPL");
