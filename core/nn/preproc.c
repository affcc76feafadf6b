/* The seed's preprocessing (nn/preproc.h). The log is taken in double and
 * rounded to float, the same value the fit stores as min/max, so the
 * training data's extremes map to exactly 0 and 1; the scaling is in double.
 * (The seed works in float64 throughout: the difference is one float
 * rounding, ~1e-7 relative.) */
#include "nn/preproc.h"

#include <math.h>

/* NaN (e.g. log2 of a negative size) maps to 0 like anything below range. */
static float clip01(double v)
{
    return v > 0.0 ? (v < 1.0 ? (float)v : 1.0f) : 0.0f;
}

static float scale(double v, float lo, float hi)
{
    double range = (double)hi - (double)lo;
    if (!(range > 0.0))
        return 0.0f;
    return clip01((v - (double)lo) / range);
}

void ef_preproc_apply(const ef_preproc_t *p, const float *size, const float *iat_s,
                      const unsigned char *dir, int n, float *x)
{
    int F = ef_preproc_features(p);
    for (int i = 0; i < n; i++) {
        x[i * F + 0] = scale((float)log2((double)size[i]), p->size_min, p->size_max);
        x[i * F + 1] = scale((float)log2((double)iat_s[i] + 1.0), p->time_min, p->time_max);
        if (F == 3)
            x[i * F + 2] = dir && dir[i] ? 1.0f : 0.0f;
    }
}

void ef_preproc_fit_begin(ef_preproc_t *p, int use_dir)
{
    p->size_min = p->time_min = INFINITY;
    p->size_max = p->time_max = -INFINITY;
    p->use_dir = use_dir ? 1 : 0;
}

void ef_preproc_fit_add(ef_preproc_t *p, const float *size, const float *iat_s, int n)
{
    for (int i = 0; i < n; i++) {
        float s = (float)log2((double)size[i]);
        float t = (float)log2((double)iat_s[i] + 1.0);
        if (s < p->size_min)
            p->size_min = s;
        if (s > p->size_max)
            p->size_max = s;
        if (t < p->time_min)
            p->time_min = t;
        if (t > p->time_max)
            p->time_max = t;
    }
}
