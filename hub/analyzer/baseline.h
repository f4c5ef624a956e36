/*
 * baseline.h - exponentially weighted moving average and variance of a per-minute rate, with a
 * deviation band: "is this minute far above or below what this exporter/interface usually does".
 */
#ifndef FL0WER_ANALYZER_BASELINE_H
#define FL0WER_ANALYZER_BASELINE_H

#include <stdbool.h>
#include <stdint.h>

struct anz_baseline {
    double mean;
    double var;
    uint32_t samples; /* minutes folded in so far */
};

/* Folds one minute's value in with smoothing factor alpha (0 < alpha <= 1). */
void anz_baseline_update(struct anz_baseline *b, double value, double alpha);

/* Standard deviation of the baseline. */
double anz_baseline_stddev(const struct anz_baseline *b);

/*
 * Compares value with the band mean +- k * stddev (the band is at least min_band wide, so a very
 * steady series does not alert on noise). Returns +1 above, -1 below, 0 inside or while the
 * baseline has fewer than warmup samples.
 */
int anz_baseline_check(const struct anz_baseline *b, double value, double k, double min_band,
                       uint32_t warmup);

#endif
