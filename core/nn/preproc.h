/* Input preprocessing, recorded in every model file and applied by both the
 * training path and the inference path (the seed's scheme):
 *
 *   size' = clip01((log2(size)      - size_min) / (size_max - size_min))
 *   time' = clip01((log2(iat_s + 1) - time_min) / (time_max - time_min))
 *   dir'  = dir (0/1), only when use_dir is set (third input feature)
 *
 * size_min/max and time_min/max are ONE global minimum/maximum over all size
 * columns and one over all time columns of the training split, taken after
 * the log transform. The seed clips values above 1 only; earlyflow clips to
 * [0, 1] (identical on training data, and bounded on unseen inputs below the
 * training minimum). A zero range maps every value to 0. The log is taken
 * in double and rounded to float (the value the fit stores), the scaling
 * is in double: the fitted minimum and maximum map to exactly 0 and 1.
 * NaN (a negative size) maps to 0. Stateless and thread-safe. */
#ifndef EF_NN_PREPROC_H
#define EF_NN_PREPROC_H

typedef struct ef_preproc {
    float size_min, size_max; /* of log2(size) */
    float time_min, time_max; /* of log2(iat_s + 1) */
    int use_dir;              /* 1: a third input feature, the direction */
} ef_preproc_t;

/* Number of input features per time step (2, or 3 with direction). */
static inline int ef_preproc_features(const ef_preproc_t *p)
{
    return p->use_dir ? 3 : 2;
}

/* Transform n packets into x[n][features]. dir may be NULL (treated as 0). */
void ef_preproc_apply(const ef_preproc_t *p, const float *size, const float *iat_s,
                      const unsigned char *dir, int n, float *x);

/* Start an empty fit / add rows / finish: min and max of the log-transformed
 * values over everything added. */
void ef_preproc_fit_begin(ef_preproc_t *p, int use_dir);
void ef_preproc_fit_add(ef_preproc_t *p, const float *size, const float *iat_s, int n);

#endif
