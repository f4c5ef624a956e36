/*
 * baseline.c - EWMA mean/variance baselines.
 */
#include <math.h>

#include "baseline.h"

void anz_baseline_update(struct anz_baseline *b, double value, double alpha)
{
    if (b->samples == 0) {
        b->mean = value;
        b->var = 0.0;
    } else {
        double diff = value - b->mean;
        double incr = alpha * diff;
        b->mean += incr;
        b->var = (1.0 - alpha) * (b->var + diff * incr);
    }
    b->samples++;
}

double anz_baseline_stddev(const struct anz_baseline *b)
{
    return sqrt(b->var > 0.0 ? b->var : 0.0);
}

int anz_baseline_check(const struct anz_baseline *b, double value, double k, double min_band,
                       uint32_t warmup)
{
    double band;

    if (b->samples < warmup)
        return 0;
    band = k * anz_baseline_stddev(b);
    if (band < min_band)
        band = min_band;
    if (value > b->mean + band)
        return 1;
    if (value < b->mean - band)
        return -1;
    return 0;
}
