WITH `active_customers` AS (
  /* step active_customers: customers that existed at as_of and had not churned by then */
  SELECT
    `t2`.`customer_id`,
    `t2`.`created_at`,
    `t2`.`owner`,
    `t2`.`segment`
  FROM `customers` AS `t2`
  WHERE
    (
      (
        `t2`.`created_at` IS NULL
      )
      OR (
        CAST(`t2`.`created_at` AS DATE) <= MAKE_DATE(2025, 6, 30)
      )
    )
    AND (
      (
        `t2`.`churned_at` IS NULL
      )
      OR (
        CAST(`t2`.`churned_at` AS DATE) > MAKE_DATE(2025, 6, 30)
      )
    )
), `agg_subscriptions` AS (
  /* step agg_subscriptions: one GROUP BY customer_id over subscriptions, rows up to as_of */
  SELECT
    `t4`.`customer_id` AS `_cid`,
    MAX_BY(IF(TRUE, `t4`.`renewed`, NULL), IF(TRUE, `t4`.`started_at`, NULL)) AS `renewed__latest`, /* metric renewed: subscriptions latest(renewed), all history */
    MAX_BY(IF(TRUE, `t4`.`mrr`, NULL), IF(TRUE, `t4`.`started_at`, NULL)) AS `mrr__latest` /* metric mrr: subscriptions latest(mrr), all history */
  FROM (
    SELECT
      *
    FROM `subscriptions` AS `t0`
    WHERE
      CAST(`t0`.`started_at` AS DATE) <= MAKE_DATE(2025, 6, 30)
  ) AS `t4`
  GROUP BY
    1
), `agg_interactions` AS (
  /* step agg_interactions: one GROUP BY customer_id over interactions, rows up to as_of */
  SELECT
    `t6`.`customer_id` AS `_cid`,
    COUNT(
      IF(
        (
          CAST(`t6`.`occurred_at` AS DATE) > MAKE_DATE(2025, 4, 1)
        )
        AND (
          `t6`.`kind` = 'login'
        ),
        `t6`.`customer_id`,
        NULL
      )
    ) AS `logins__n`, /* metric logins: interactions monthly_count() kind=login, window 90d */
    COUNT(
      IF(
        (
          CAST(`t6`.`occurred_at` AS DATE) > MAKE_DATE(2025, 4, 1)
        )
        AND (
          `t6`.`kind` = 'feature_used'
        ),
        `t6`.`customer_id`,
        NULL
      )
    ) AS `feature_use__v`, /* metric feature_use: interactions count() kind=feature_used, window 90d */
    MAX(IF(`t6`.`kind` = 'login', CAST(`t6`.`occurred_at` AS DATE), NULL)) AS `days_since_login__last_day`, /* metric days_since_login: interactions days_since_last() kind=login, all history */
    COUNT(
      IF(
        (
          CAST(`t6`.`occurred_at` AS DATE) > MAKE_DATE(2025, 4, 1)
        )
        AND (
          `t6`.`kind` = 'ticket_opened'
        ),
        `t6`.`customer_id`,
        NULL
      )
    ) AS `tickets__v`, /* metric tickets: interactions count() kind=ticket_opened, window 90d */
    AVG(
      IF(
        (
          CAST(`t6`.`occurred_at` AS DATE) > MAKE_DATE(2025, 1, 1)
        )
        AND (
          `t6`.`kind` = 'ticket_resolved'
        ),
        `t6`.`satisfaction`,
        NULL
      )
    ) AS `ticket_csat__v` /* metric ticket_csat: interactions mean(satisfaction) kind=ticket_resolved, window 180d */
  FROM (
    SELECT
      *
    FROM `interactions` AS `t3`
    WHERE
      CAST(`t3`.`occurred_at` AS DATE) <= MAKE_DATE(2025, 6, 30)
  ) AS `t6`
  GROUP BY
    1
), `agg_surveys` AS (
  /* step agg_surveys: one GROUP BY customer_id over surveys, rows up to as_of */
  SELECT
    `t5`.`customer_id` AS `_cid`,
    COUNT(
      IF(
        (
          CAST(`t5`.`answered_at` AS DATE) > MAKE_DATE(2024, 6, 30)
        )
        AND (
          `t5`.`kind` = 'nps'
        )
        AND (
          `t5`.`score` >= 9
        ),
        `t5`.`customer_id`,
        NULL
      )
    ) AS `nps__promoters`, /* metric nps: surveys nps(), window 365d */
    COUNT(
      IF(
        (
          CAST(`t5`.`answered_at` AS DATE) > MAKE_DATE(2024, 6, 30)
        )
        AND (
          `t5`.`kind` = 'nps'
        )
        AND (
          `t5`.`score` <= 6
        ),
        `t5`.`customer_id`,
        NULL
      )
    ) AS `nps__detractors`,
    COUNT(
      IF(
        (
          CAST(`t5`.`answered_at` AS DATE) > MAKE_DATE(2024, 6, 30)
        )
        AND (
          `t5`.`kind` = 'nps'
        ),
        `t5`.`customer_id`,
        NULL
      )
    ) AS `nps__answers`
  FROM (
    SELECT
      *
    FROM `surveys` AS `t1`
    WHERE
      CAST(`t1`.`answered_at` AS DATE) <= MAKE_DATE(2025, 6, 30)
      AND CAST(`t1`.`answered_at` AS DATE) > MAKE_DATE(2024, 6, 30)
  ) AS `t5`
  GROUP BY
    1
), `raw` AS (
  /* step raw: each metric's raw value per customer */
  SELECT
    `t26`.`customer_id`,
    `t26`.`owner`,
    `t26`.`segment`,
    CAST(ROUND(COALESCE(`t26`.`logins__n` / 2.9568788501026693, 0), 9) AS DOUBLE) AS `logins__raw`, /* metric logins: interactions monthly_count() kind=login, window 90d */
    CAST(ROUND(CAST(COALESCE(`t26`.`feature_use__v`, 0) AS DOUBLE), 9) AS DOUBLE) AS `feature_use__raw`, /* metric feature_use: interactions count() kind=feature_used, window 90d */
    CAST(ROUND(
      CAST(DATEDIFF(DAY, `t26`.`days_since_login__last_day`, MAKE_DATE(2025, 6, 30)) AS DOUBLE),
      9
    ) AS DOUBLE) AS `days_since_login__raw`, /* metric days_since_login: interactions days_since_last() kind=login, all history */
    CAST(ROUND(CAST(COALESCE(`t26`.`tickets__v`, 0) AS DOUBLE), 9) AS DOUBLE) AS `tickets__raw`, /* metric tickets: interactions count() kind=ticket_opened, window 90d */
    CAST(ROUND(`t26`.`ticket_csat__v`, 9) AS DOUBLE) AS `ticket_csat__raw`, /* metric ticket_csat: interactions mean(satisfaction) kind=ticket_resolved, window 180d */
    CAST(ROUND(
      IF(
        CAST(`t26`.`nps__answers` AS DOUBLE) IS NULL
        OR ISNAN(CAST(`t26`.`nps__answers` AS DOUBLE))
        OR (
          CAST(`t26`.`nps__answers` AS DOUBLE) = 0
        ),
        CAST(NULL AS DOUBLE),
        (
          (
            CAST(`t26`.`nps__promoters` AS DOUBLE) - CAST(`t26`.`nps__detractors` AS DOUBLE)
          ) * 100.0
        ) / CAST(`t26`.`nps__answers` AS DOUBLE)
      ),
      9
    ) AS DOUBLE) AS `nps__raw`, /* metric nps: surveys nps(), window 365d */
    `t26`.`renewed__latest` AS `renewed__raw`, /* metric renewed: subscriptions latest(renewed), all history */
    CAST(ROUND(`t26`.`mrr__latest`, 9) AS DOUBLE) AS `mrr__raw` /* metric mrr: subscriptions latest(mrr), all history */
  FROM (
    SELECT
      `t25`.`customer_id`,
      `t25`.`created_at`,
      `t25`.`owner`,
      `t25`.`segment`,
      `t25`.`logins__n`,
      `t25`.`feature_use__v`,
      `t25`.`days_since_login__last_day`,
      `t25`.`tickets__v`,
      `t25`.`ticket_csat__v`,
      `t25`.`nps__promoters`,
      `t25`.`nps__detractors`,
      `t25`.`nps__answers`,
      `t25`.`renewed__latest`,
      `t25`.`mrr__latest`
    FROM (
      SELECT
        `t24`.`customer_id`,
        `t24`.`created_at`,
        `t24`.`owner`,
        `t24`.`segment`,
        `t24`.`logins__n`,
        `t24`.`feature_use__v`,
        `t24`.`days_since_login__last_day`,
        `t24`.`tickets__v`,
        `t24`.`ticket_csat__v`,
        `t24`.`nps__promoters`,
        `t24`.`nps__detractors`,
        `t24`.`nps__answers`,
        `t12`.`_cid`,
        `t12`.`renewed__latest`,
        `t12`.`mrr__latest`
      FROM (
        SELECT
          `t22`.`customer_id`,
          `t22`.`created_at`,
          `t22`.`owner`,
          `t22`.`segment`,
          `t22`.`logins__n`,
          `t22`.`feature_use__v`,
          `t22`.`days_since_login__last_day`,
          `t22`.`tickets__v`,
          `t22`.`ticket_csat__v`,
          `t22`.`nps__promoters`,
          `t22`.`nps__detractors`,
          `t22`.`nps__answers`
        FROM (
          SELECT
            `t21`.`customer_id`,
            `t21`.`created_at`,
            `t21`.`owner`,
            `t21`.`segment`,
            `t21`.`logins__n`,
            `t21`.`feature_use__v`,
            `t21`.`days_since_login__last_day`,
            `t21`.`tickets__v`,
            `t21`.`ticket_csat__v`,
            `t18`.`_cid`,
            `t18`.`nps__promoters`,
            `t18`.`nps__detractors`,
            `t18`.`nps__answers`
          FROM (
            SELECT
              `t19`.`customer_id`,
              `t19`.`created_at`,
              `t19`.`owner`,
              `t19`.`segment`,
              `t19`.`logins__n`,
              `t19`.`feature_use__v`,
              `t19`.`days_since_login__last_day`,
              `t19`.`tickets__v`,
              `t19`.`ticket_csat__v`
            FROM (
              SELECT
                `t10`.`customer_id`,
                `t10`.`created_at`,
                `t10`.`owner`,
                `t10`.`segment`,
                `t17`.`_cid`,
                `t17`.`logins__n`,
                `t17`.`feature_use__v`,
                `t17`.`days_since_login__last_day`,
                `t17`.`tickets__v`,
                `t17`.`ticket_csat__v`
              FROM `active_customers` AS `t10`
              LEFT OUTER JOIN `agg_interactions` AS `t17`
                ON `t10`.`customer_id` = `t17`.`_cid`
            ) AS `t19`
          ) AS `t21`
          LEFT OUTER JOIN `agg_surveys` AS `t18`
            ON `t21`.`customer_id` = `t18`.`_cid`
        ) AS `t22`
      ) AS `t24`
      LEFT OUTER JOIN `agg_subscriptions` AS `t12`
        ON `t24`.`customer_id` = `t12`.`_cid`
    ) AS `t25`
  ) AS `t26`
), `normalised` AS (
  /* step normalised: raw values mapped onto 0..100 */
  SELECT
    `t28`.`customer_id`,
    `t28`.`owner`,
    `t28`.`segment`,
    `t28`.`logins__raw`,
    `t28`.`feature_use__raw`,
    `t28`.`days_since_login__raw`,
    `t28`.`tickets__raw`,
    `t28`.`ticket_csat__raw`,
    `t28`.`nps__raw`,
    `t28`.`renewed__raw`,
    `t28`.`mrr__raw`,
    IF(
      IF(
        (
          (
            (
              LN(
                IF(`t28`.`logins__raw` IS NULL, `t28`.`logins__raw`, GREATEST(0.0, `t28`.`logins__raw`)) + 1.0
              ) - 0.0
            ) / 3.713572066704308
          ) * 100.0
        ) IS NULL,
        (
          (
            LN(
              IF(`t28`.`logins__raw` IS NULL, `t28`.`logins__raw`, GREATEST(0.0, `t28`.`logins__raw`)) + 1.0
            ) - 0.0
          ) / 3.713572066704308
        ) * 100.0,
        LEAST(
          100.0,
          (
            (
              LN(
                IF(`t28`.`logins__raw` IS NULL, `t28`.`logins__raw`, GREATEST(0.0, `t28`.`logins__raw`)) + 1.0
              ) - 0.0
            ) / 3.713572066704308
          ) * 100.0
        )
      ) IS NULL,
      IF(
        (
          (
            (
              LN(
                IF(`t28`.`logins__raw` IS NULL, `t28`.`logins__raw`, GREATEST(0.0, `t28`.`logins__raw`)) + 1.0
              ) - 0.0
            ) / 3.713572066704308
          ) * 100.0
        ) IS NULL,
        (
          (
            LN(
              IF(`t28`.`logins__raw` IS NULL, `t28`.`logins__raw`, GREATEST(0.0, `t28`.`logins__raw`)) + 1.0
            ) - 0.0
          ) / 3.713572066704308
        ) * 100.0,
        LEAST(
          100.0,
          (
            (
              LN(
                IF(`t28`.`logins__raw` IS NULL, `t28`.`logins__raw`, GREATEST(0.0, `t28`.`logins__raw`)) + 1.0
              ) - 0.0
            ) / 3.713572066704308
          ) * 100.0
        )
      ),
      GREATEST(
        0.0,
        IF(
          (
            (
              (
                LN(
                  IF(`t28`.`logins__raw` IS NULL, `t28`.`logins__raw`, GREATEST(0.0, `t28`.`logins__raw`)) + 1.0
                ) - 0.0
              ) / 3.713572066704308
            ) * 100.0
          ) IS NULL,
          (
            (
              LN(
                IF(`t28`.`logins__raw` IS NULL, `t28`.`logins__raw`, GREATEST(0.0, `t28`.`logins__raw`)) + 1.0
              ) - 0.0
            ) / 3.713572066704308
          ) * 100.0,
          LEAST(
            100.0,
            (
              (
                LN(
                  IF(`t28`.`logins__raw` IS NULL, `t28`.`logins__raw`, GREATEST(0.0, `t28`.`logins__raw`)) + 1.0
                ) - 0.0
              ) / 3.713572066704308
            ) * 100.0
          )
        )
      )
    ) AS `logins__norm`, /* metric logins: normalise log_range min=0 max=40 direction=higher */
    IF(
      `t28`.`feature_use__raw` IS NULL OR ISNAN(`t28`.`feature_use__raw`),
      CAST(NULL AS DOUBLE),
      PERCENT_RANK() OVER (
        PARTITION BY `t28`.`feature_use__raw` IS NULL OR ISNAN(`t28`.`feature_use__raw`)
        ORDER BY `t28`.`feature_use__raw` ASC NULLS LAST
      ) * 100.0
    ) AS `feature_use__norm`, /* metric feature_use: normalise percentile direction=higher */
    100.0 - IF(
      IF(
        (
          (
            (
              `t28`.`days_since_login__raw` - 0.0
            ) / 20.0
          ) * 100.0
        ) IS NULL,
        (
          (
            `t28`.`days_since_login__raw` - 0.0
          ) / 20.0
        ) * 100.0,
        LEAST(100.0, (
          (
            `t28`.`days_since_login__raw` - 0.0
          ) / 20.0
        ) * 100.0)
      ) IS NULL,
      IF(
        (
          (
            (
              `t28`.`days_since_login__raw` - 0.0
            ) / 20.0
          ) * 100.0
        ) IS NULL,
        (
          (
            `t28`.`days_since_login__raw` - 0.0
          ) / 20.0
        ) * 100.0,
        LEAST(100.0, (
          (
            `t28`.`days_since_login__raw` - 0.0
          ) / 20.0
        ) * 100.0)
      ),
      GREATEST(
        0.0,
        IF(
          (
            (
              (
                `t28`.`days_since_login__raw` - 0.0
              ) / 20.0
            ) * 100.0
          ) IS NULL,
          (
            (
              `t28`.`days_since_login__raw` - 0.0
            ) / 20.0
          ) * 100.0,
          LEAST(100.0, (
            (
              `t28`.`days_since_login__raw` - 0.0
            ) / 20.0
          ) * 100.0)
        )
      )
    ) AS `days_since_login__norm`, /* metric days_since_login: normalise range min=0 max=20 direction=lower */
    100.0 - IF(
      IF(
        (
          (
            (
              `t28`.`tickets__raw` - 0.0
            ) / 3.0
          ) * 100.0
        ) IS NULL,
        (
          (
            `t28`.`tickets__raw` - 0.0
          ) / 3.0
        ) * 100.0,
        LEAST(100.0, (
          (
            `t28`.`tickets__raw` - 0.0
          ) / 3.0
        ) * 100.0)
      ) IS NULL,
      IF(
        (
          (
            (
              `t28`.`tickets__raw` - 0.0
            ) / 3.0
          ) * 100.0
        ) IS NULL,
        (
          (
            `t28`.`tickets__raw` - 0.0
          ) / 3.0
        ) * 100.0,
        LEAST(100.0, (
          (
            `t28`.`tickets__raw` - 0.0
          ) / 3.0
        ) * 100.0)
      ),
      GREATEST(
        0.0,
        IF(
          (
            (
              (
                `t28`.`tickets__raw` - 0.0
              ) / 3.0
            ) * 100.0
          ) IS NULL,
          (
            (
              `t28`.`tickets__raw` - 0.0
            ) / 3.0
          ) * 100.0,
          LEAST(100.0, (
            (
              `t28`.`tickets__raw` - 0.0
            ) / 3.0
          ) * 100.0)
        )
      )
    ) AS `tickets__norm`, /* metric tickets: normalise range min=0 max=3 direction=lower */
    IF(
      IF(
        (
          (
            (
              `t28`.`ticket_csat__raw` - 1.0
            ) / 4.0
          ) * 100.0
        ) IS NULL,
        (
          (
            `t28`.`ticket_csat__raw` - 1.0
          ) / 4.0
        ) * 100.0,
        LEAST(100.0, (
          (
            `t28`.`ticket_csat__raw` - 1.0
          ) / 4.0
        ) * 100.0)
      ) IS NULL,
      IF(
        (
          (
            (
              `t28`.`ticket_csat__raw` - 1.0
            ) / 4.0
          ) * 100.0
        ) IS NULL,
        (
          (
            `t28`.`ticket_csat__raw` - 1.0
          ) / 4.0
        ) * 100.0,
        LEAST(100.0, (
          (
            `t28`.`ticket_csat__raw` - 1.0
          ) / 4.0
        ) * 100.0)
      ),
      GREATEST(
        0.0,
        IF(
          (
            (
              (
                `t28`.`ticket_csat__raw` - 1.0
              ) / 4.0
            ) * 100.0
          ) IS NULL,
          (
            (
              `t28`.`ticket_csat__raw` - 1.0
            ) / 4.0
          ) * 100.0,
          LEAST(100.0, (
            (
              `t28`.`ticket_csat__raw` - 1.0
            ) / 4.0
          ) * 100.0)
        )
      )
    ) AS `ticket_csat__norm`, /* metric ticket_csat: normalise range min=1 max=5 direction=higher */
    IF(
      IF(
        (
          (
            (
              `t28`.`nps__raw` - -100.0
            ) / 200.0
          ) * 100.0
        ) IS NULL,
        (
          (
            `t28`.`nps__raw` - -100.0
          ) / 200.0
        ) * 100.0,
        LEAST(100.0, (
          (
            `t28`.`nps__raw` - -100.0
          ) / 200.0
        ) * 100.0)
      ) IS NULL,
      IF(
        (
          (
            (
              `t28`.`nps__raw` - -100.0
            ) / 200.0
          ) * 100.0
        ) IS NULL,
        (
          (
            `t28`.`nps__raw` - -100.0
          ) / 200.0
        ) * 100.0,
        LEAST(100.0, (
          (
            `t28`.`nps__raw` - -100.0
          ) / 200.0
        ) * 100.0)
      ),
      GREATEST(
        0.0,
        IF(
          (
            (
              (
                `t28`.`nps__raw` - -100.0
              ) / 200.0
            ) * 100.0
          ) IS NULL,
          (
            (
              `t28`.`nps__raw` - -100.0
            ) / 200.0
          ) * 100.0,
          LEAST(100.0, (
            (
              `t28`.`nps__raw` - -100.0
            ) / 200.0
          ) * 100.0)
        )
      )
    ) AS `nps__norm`, /* metric nps: normalise range min=-100 max=100 direction=higher */
    IF(
      CAST(`t28`.`renewed__raw` AS STRING) IS NULL,
      CAST(NULL AS DOUBLE),
      IF(
        IF(
          CASE
            WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'true'
            THEN 100.0
            WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'false'
            THEN 0.0
            ELSE CAST(NULL AS DOUBLE)
          END IS NULL,
          CASE
            WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'true'
            THEN 100.0
            WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'false'
            THEN 0.0
            ELSE CAST(NULL AS DOUBLE)
          END,
          LEAST(
            100.0,
            CASE
              WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'true'
              THEN 100.0
              WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'false'
              THEN 0.0
              ELSE CAST(NULL AS DOUBLE)
            END
          )
        ) IS NULL,
        IF(
          CASE
            WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'true'
            THEN 100.0
            WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'false'
            THEN 0.0
            ELSE CAST(NULL AS DOUBLE)
          END IS NULL,
          CASE
            WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'true'
            THEN 100.0
            WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'false'
            THEN 0.0
            ELSE CAST(NULL AS DOUBLE)
          END,
          LEAST(
            100.0,
            CASE
              WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'true'
              THEN 100.0
              WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'false'
              THEN 0.0
              ELSE CAST(NULL AS DOUBLE)
            END
          )
        ),
        GREATEST(
          0.0,
          IF(
            CASE
              WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'true'
              THEN 100.0
              WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'false'
              THEN 0.0
              ELSE CAST(NULL AS DOUBLE)
            END IS NULL,
            CASE
              WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'true'
              THEN 100.0
              WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'false'
              THEN 0.0
              ELSE CAST(NULL AS DOUBLE)
            END,
            LEAST(
              100.0,
              CASE
                WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'true'
                THEN 100.0
                WHEN CAST(`t28`.`renewed__raw` AS STRING) = 'false'
                THEN 0.0
                ELSE CAST(NULL AS DOUBLE)
              END
            )
          )
        )
      )
    ) AS `renewed__norm`, /* metric renewed: normalise map values={"true":100.0,"false":0.0} */
    IF(
      `t28`.`mrr__raw` IS NULL OR ISNAN(`t28`.`mrr__raw`),
      CAST(NULL AS DOUBLE),
      (
        (
          IF(
            IF(
              IF(
                STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) IS NULL
                OR ISNAN(
                  STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                )
                OR (
                  STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) = 0
                ),
                0.0,
                (
                  `t28`.`mrr__raw` - AVG(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                ) / STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
              ) IS NULL,
              IF(
                STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) IS NULL
                OR ISNAN(
                  STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                )
                OR (
                  STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) = 0
                ),
                0.0,
                (
                  `t28`.`mrr__raw` - AVG(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                ) / STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
              ),
              LEAST(
                2.0,
                IF(
                  STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) IS NULL
                  OR ISNAN(
                    STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                  )
                  OR (
                    STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) = 0
                  ),
                  0.0,
                  (
                    `t28`.`mrr__raw` - AVG(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                  ) / STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                )
              )
            ) IS NULL,
            IF(
              IF(
                STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) IS NULL
                OR ISNAN(
                  STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                )
                OR (
                  STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) = 0
                ),
                0.0,
                (
                  `t28`.`mrr__raw` - AVG(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                ) / STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
              ) IS NULL,
              IF(
                STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) IS NULL
                OR ISNAN(
                  STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                )
                OR (
                  STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) = 0
                ),
                0.0,
                (
                  `t28`.`mrr__raw` - AVG(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                ) / STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
              ),
              LEAST(
                2.0,
                IF(
                  STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) IS NULL
                  OR ISNAN(
                    STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                  )
                  OR (
                    STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) = 0
                  ),
                  0.0,
                  (
                    `t28`.`mrr__raw` - AVG(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                  ) / STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                )
              )
            ),
            GREATEST(
              -2.0,
              IF(
                IF(
                  STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) IS NULL
                  OR ISNAN(
                    STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                  )
                  OR (
                    STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) = 0
                  ),
                  0.0,
                  (
                    `t28`.`mrr__raw` - AVG(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                  ) / STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                ) IS NULL,
                IF(
                  STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) IS NULL
                  OR ISNAN(
                    STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                  )
                  OR (
                    STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) = 0
                  ),
                  0.0,
                  (
                    `t28`.`mrr__raw` - AVG(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                  ) / STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                ),
                LEAST(
                  2.0,
                  IF(
                    STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) IS NULL
                    OR ISNAN(
                      STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                    )
                    OR (
                      STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) = 0
                    ),
                    0.0,
                    (
                      `t28`.`mrr__raw` - AVG(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                    ) / STDDEV_POP(`t28`.`mrr__raw`) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                  )
                )
              )
            )
          ) + 2.0
        ) / 4.0
      ) * 100.0
    ) AS `mrr__norm` /* metric mrr: normalise zscore clip=2 direction=higher */
  FROM `raw` AS `t28`
), `scored` AS (
  /* step scored: the missing-value policies */
  SELECT
    `t30`.`customer_id`,
    `t30`.`owner`,
    `t30`.`segment`,
    `t30`.`logins__raw`,
    `t30`.`feature_use__raw`,
    `t30`.`days_since_login__raw`,
    `t30`.`tickets__raw`,
    `t30`.`ticket_csat__raw`,
    `t30`.`nps__raw`,
    `t30`.`renewed__raw`,
    `t30`.`mrr__raw`,
    `t30`.`logins__norm` IS NULL OR ISNAN(`t30`.`logins__norm`) AS `logins__missing`,
    `t30`.`logins__norm` AS `logins__score`, /* metric logins: missing -> reweight */
    `t30`.`feature_use__norm` IS NULL OR ISNAN(`t30`.`feature_use__norm`) AS `feature_use__missing`,
    `t30`.`feature_use__norm` AS `feature_use__score`, /* metric feature_use: missing -> reweight */
    `t30`.`days_since_login__norm` IS NULL OR ISNAN(`t30`.`days_since_login__norm`) AS `days_since_login__missing`,
    IF(
      `t30`.`days_since_login__norm` IS NULL OR ISNAN(`t30`.`days_since_login__norm`),
      0.0,
      `t30`.`days_since_login__norm`
    ) AS `days_since_login__score`, /* metric days_since_login: missing -> zero */
    `t30`.`tickets__norm` IS NULL OR ISNAN(`t30`.`tickets__norm`) AS `tickets__missing`,
    `t30`.`tickets__norm` AS `tickets__score`, /* metric tickets: missing -> reweight */
    `t30`.`ticket_csat__norm` IS NULL OR ISNAN(`t30`.`ticket_csat__norm`) AS `ticket_csat__missing`,
    `t30`.`ticket_csat__norm` AS `ticket_csat__score`, /* metric ticket_csat: missing -> reweight */
    `t30`.`nps__norm` IS NULL OR ISNAN(`t30`.`nps__norm`) AS `nps__missing`,
    IF(`t30`.`nps__norm` IS NULL OR ISNAN(`t30`.`nps__norm`), 50.0, `t30`.`nps__norm`) AS `nps__score`, /* metric nps: missing -> neutral 50 */
    `t30`.`renewed__norm` IS NULL OR ISNAN(`t30`.`renewed__norm`) AS `renewed__missing`,
    IF(
      `t30`.`renewed__norm` IS NULL OR ISNAN(`t30`.`renewed__norm`),
      50.0,
      `t30`.`renewed__norm`
    ) AS `renewed__score`, /* metric renewed: missing -> neutral 50 */
    `t30`.`mrr__norm` IS NULL OR ISNAN(`t30`.`mrr__norm`) AS `mrr__missing`,
    IF(`t30`.`mrr__norm` IS NULL OR ISNAN(`t30`.`mrr__norm`), 0.0, `t30`.`mrr__norm`) AS `mrr__score` /* metric mrr: missing -> zero */
  FROM `normalised` AS `t30`
), `weighted` AS (
  /* step weighted: weights, dimension scores, contributions, total and coverage */
  SELECT
    `t36`.`customer_id`,
    `t36`.`owner`,
    `t36`.`segment`,
    `t36`.`logins__raw`,
    `t36`.`feature_use__raw`,
    `t36`.`days_since_login__raw`,
    `t36`.`tickets__raw`,
    `t36`.`ticket_csat__raw`,
    `t36`.`nps__raw`,
    `t36`.`renewed__raw`,
    `t36`.`mrr__raw`,
    `t36`.`logins__missing`,
    `t36`.`logins__score`,
    `t36`.`feature_use__missing`,
    `t36`.`feature_use__score`,
    `t36`.`days_since_login__missing`,
    `t36`.`days_since_login__score`,
    `t36`.`tickets__missing`,
    `t36`.`tickets__score`,
    `t36`.`ticket_csat__missing`,
    `t36`.`ticket_csat__score`,
    `t36`.`nps__missing`,
    `t36`.`nps__score`,
    `t36`.`renewed__missing`,
    `t36`.`renewed__score`,
    `t36`.`mrr__missing`,
    `t36`.`mrr__score`,
    `t36`.`_p__logins`,
    `t36`.`_p__feature_use`,
    `t36`.`_p__days_since_login`,
    `t36`.`_p__tickets`,
    `t36`.`_p__ticket_csat`,
    `t36`.`_p__nps`,
    `t36`.`_p__renewed`,
    `t36`.`_p__mrr`,
    `t36`.`_w__usage`,
    `t36`.`_n__usage`,
    `t36`.`_w__support`,
    `t36`.`_n__support`,
    `t36`.`_w__loyalty`,
    `t36`.`_n__loyalty`,
    `t36`.`_d__usage`,
    `t36`.`_d__support`,
    `t36`.`_d__loyalty`,
    `t36`.`_total_w`,
    `t36`.`dim__usage`,
    `t36`.`dim__support`,
    `t36`.`dim__loyalty`,
    `t36`.`logins__weight`,
    `t36`.`feature_use__weight`,
    `t36`.`days_since_login__weight`,
    `t36`.`tickets__weight`,
    `t36`.`ticket_csat__weight`,
    `t36`.`nps__weight`,
    `t36`.`renewed__weight`,
    `t36`.`mrr__weight`,
    `t36`.`logins__contribution`,
    `t36`.`feature_use__contribution`,
    `t36`.`days_since_login__contribution`,
    `t36`.`tickets__contribution`,
    `t36`.`ticket_csat__contribution`,
    `t36`.`nps__contribution`,
    `t36`.`renewed__contribution`,
    `t36`.`mrr__contribution`,
    `t36`.`_any_w`,
    `t36`.`_total`,
    `t36`.`coverage`,
    IF(
      `t36`.`_any_w`,
      CAST(ROUND(
        IF(
          IF(`t36`.`_total` IS NULL, `t36`.`_total`, LEAST(100.0, `t36`.`_total`)) IS NULL,
          IF(`t36`.`_total` IS NULL, `t36`.`_total`, LEAST(100.0, `t36`.`_total`)),
          GREATEST(0.0, IF(`t36`.`_total` IS NULL, `t36`.`_total`, LEAST(100.0, `t36`.`_total`)))
        ),
        6
      ) AS DOUBLE),
      CAST(NULL AS DOUBLE)
    ) AS `score`
  FROM (
    SELECT
      `t35`.`customer_id`,
      `t35`.`owner`,
      `t35`.`segment`,
      `t35`.`logins__raw`,
      `t35`.`feature_use__raw`,
      `t35`.`days_since_login__raw`,
      `t35`.`tickets__raw`,
      `t35`.`ticket_csat__raw`,
      `t35`.`nps__raw`,
      `t35`.`renewed__raw`,
      `t35`.`mrr__raw`,
      `t35`.`logins__missing`,
      `t35`.`logins__score`,
      `t35`.`feature_use__missing`,
      `t35`.`feature_use__score`,
      `t35`.`days_since_login__missing`,
      `t35`.`days_since_login__score`,
      `t35`.`tickets__missing`,
      `t35`.`tickets__score`,
      `t35`.`ticket_csat__missing`,
      `t35`.`ticket_csat__score`,
      `t35`.`nps__missing`,
      `t35`.`nps__score`,
      `t35`.`renewed__missing`,
      `t35`.`renewed__score`,
      `t35`.`mrr__missing`,
      `t35`.`mrr__score`,
      `t35`.`_p__logins`,
      `t35`.`_p__feature_use`,
      `t35`.`_p__days_since_login`,
      `t35`.`_p__tickets`,
      `t35`.`_p__ticket_csat`,
      `t35`.`_p__nps`,
      `t35`.`_p__renewed`,
      `t35`.`_p__mrr`,
      `t35`.`_w__usage`,
      `t35`.`_n__usage`,
      `t35`.`_w__support`,
      `t35`.`_n__support`,
      `t35`.`_w__loyalty`,
      `t35`.`_n__loyalty`,
      `t35`.`_d__usage`,
      `t35`.`_d__support`,
      `t35`.`_d__loyalty`,
      `t35`.`_total_w`,
      `t35`.`dim__usage`,
      `t35`.`dim__support`,
      `t35`.`dim__loyalty`,
      `t35`.`logins__weight`,
      `t35`.`feature_use__weight`,
      `t35`.`days_since_login__weight`,
      `t35`.`tickets__weight`,
      `t35`.`ticket_csat__weight`,
      `t35`.`nps__weight`,
      `t35`.`renewed__weight`,
      `t35`.`mrr__weight`,
      (
        `t35`.`logins__weight` * COALESCE(`t35`.`logins__score`, 0)
      ) / 100.0 AS `logins__contribution`,
      (
        `t35`.`feature_use__weight` * COALESCE(`t35`.`feature_use__score`, 0)
      ) / 100.0 AS `feature_use__contribution`,
      (
        `t35`.`days_since_login__weight` * COALESCE(`t35`.`days_since_login__score`, 0)
      ) / 100.0 AS `days_since_login__contribution`,
      (
        `t35`.`tickets__weight` * COALESCE(`t35`.`tickets__score`, 0)
      ) / 100.0 AS `tickets__contribution`,
      (
        `t35`.`ticket_csat__weight` * COALESCE(`t35`.`ticket_csat__score`, 0)
      ) / 100.0 AS `ticket_csat__contribution`,
      (
        `t35`.`nps__weight` * COALESCE(`t35`.`nps__score`, 0)
      ) / 100.0 AS `nps__contribution`,
      (
        `t35`.`renewed__weight` * COALESCE(`t35`.`renewed__score`, 0)
      ) / 100.0 AS `renewed__contribution`,
      (
        `t35`.`mrr__weight` * COALESCE(`t35`.`mrr__score`, 0)
      ) / 100.0 AS `mrr__contribution`,
      (
        `t35`.`logins__weight` + `t35`.`feature_use__weight` + `t35`.`days_since_login__weight` + `t35`.`tickets__weight` + `t35`.`ticket_csat__weight` + `t35`.`nps__weight` + `t35`.`renewed__weight` + `t35`.`mrr__weight`
      ) > 0 AS `_any_w`,
      (
        (
          `t35`.`logins__weight` * COALESCE(`t35`.`logins__score`, 0)
        ) / 100.0
      ) + (
        (
          `t35`.`feature_use__weight` * COALESCE(`t35`.`feature_use__score`, 0)
        ) / 100.0
      ) + (
        (
          `t35`.`days_since_login__weight` * COALESCE(`t35`.`days_since_login__score`, 0)
        ) / 100.0
      ) + (
        (
          `t35`.`tickets__weight` * COALESCE(`t35`.`tickets__score`, 0)
        ) / 100.0
      ) + (
        (
          `t35`.`ticket_csat__weight` * COALESCE(`t35`.`ticket_csat__score`, 0)
        ) / 100.0
      ) + (
        (
          `t35`.`nps__weight` * COALESCE(`t35`.`nps__score`, 0)
        ) / 100.0
      ) + (
        (
          `t35`.`renewed__weight` * COALESCE(`t35`.`renewed__score`, 0)
        ) / 100.0
      ) + (
        (
          `t35`.`mrr__weight` * COALESCE(`t35`.`mrr__score`, 0)
        ) / 100.0
      ) AS `_total`,
      CAST(ROUND(
        IF(`t35`.`logins__missing`, 0.0, 20.0) + IF(`t35`.`feature_use__missing`, 0.0, 12.0) + IF(`t35`.`days_since_login__missing`, 0.0, 8.0) + IF(`t35`.`tickets__missing`, 0.0, 10.0) + IF(`t35`.`ticket_csat__missing`, 0.0, 10.0) + IF(`t35`.`nps__missing`, 0.0, 20.0) + IF(`t35`.`renewed__missing`, 0.0, 12.0) + IF(`t35`.`mrr__missing`, 0.0, 8.0),
        6
      ) AS DOUBLE) AS `coverage`
    FROM (
      SELECT
        `t34`.`customer_id`,
        `t34`.`owner`,
        `t34`.`segment`,
        `t34`.`logins__raw`,
        `t34`.`feature_use__raw`,
        `t34`.`days_since_login__raw`,
        `t34`.`tickets__raw`,
        `t34`.`ticket_csat__raw`,
        `t34`.`nps__raw`,
        `t34`.`renewed__raw`,
        `t34`.`mrr__raw`,
        `t34`.`logins__missing`,
        `t34`.`logins__score`,
        `t34`.`feature_use__missing`,
        `t34`.`feature_use__score`,
        `t34`.`days_since_login__missing`,
        `t34`.`days_since_login__score`,
        `t34`.`tickets__missing`,
        `t34`.`tickets__score`,
        `t34`.`ticket_csat__missing`,
        `t34`.`ticket_csat__score`,
        `t34`.`nps__missing`,
        `t34`.`nps__score`,
        `t34`.`renewed__missing`,
        `t34`.`renewed__score`,
        `t34`.`mrr__missing`,
        `t34`.`mrr__score`,
        `t34`.`_p__logins`,
        `t34`.`_p__feature_use`,
        `t34`.`_p__days_since_login`,
        `t34`.`_p__tickets`,
        `t34`.`_p__ticket_csat`,
        `t34`.`_p__nps`,
        `t34`.`_p__renewed`,
        `t34`.`_p__mrr`,
        `t34`.`_w__usage`,
        `t34`.`_n__usage`,
        `t34`.`_w__support`,
        `t34`.`_n__support`,
        `t34`.`_w__loyalty`,
        `t34`.`_n__loyalty`,
        `t34`.`_d__usage`,
        `t34`.`_d__support`,
        `t34`.`_d__loyalty`,
        `t34`.`_total_w`,
        CAST(ROUND(
          IF(`t34`.`_w__usage` > 0, `t34`.`_n__usage` / `t34`.`_w__usage`, CAST(NULL AS DOUBLE)),
          6
        ) AS DOUBLE) AS `dim__usage`,
        CAST(ROUND(
          IF(
            `t34`.`_w__support` > 0,
            `t34`.`_n__support` / `t34`.`_w__support`,
            CAST(NULL AS DOUBLE)
          ),
          6
        ) AS DOUBLE) AS `dim__support`,
        CAST(ROUND(
          IF(
            `t34`.`_w__loyalty` > 0,
            `t34`.`_n__loyalty` / `t34`.`_w__loyalty`,
            CAST(NULL AS DOUBLE)
          ),
          6
        ) AS DOUBLE) AS `dim__loyalty`,
        IF(
          (
            `t34`.`_total_w` > 0
          ) AND (
            `t34`.`_w__usage` > 0
          ),
          (
            (
              (
                `t34`.`_d__usage` / `t34`.`_total_w`
              ) * `t34`.`_p__logins`
            ) / `t34`.`_w__usage`
          ) * 100.0,
          0.0
        ) AS `logins__weight`, /* metric logins: weight 50 */
        IF(
          (
            `t34`.`_total_w` > 0
          ) AND (
            `t34`.`_w__usage` > 0
          ),
          (
            (
              (
                `t34`.`_d__usage` / `t34`.`_total_w`
              ) * `t34`.`_p__feature_use`
            ) / `t34`.`_w__usage`
          ) * 100.0,
          0.0
        ) AS `feature_use__weight`, /* metric feature_use: weight 30 */
        IF(
          (
            `t34`.`_total_w` > 0
          ) AND (
            `t34`.`_w__usage` > 0
          ),
          (
            (
              (
                `t34`.`_d__usage` / `t34`.`_total_w`
              ) * `t34`.`_p__days_since_login`
            ) / `t34`.`_w__usage`
          ) * 100.0,
          0.0
        ) AS `days_since_login__weight`, /* metric days_since_login: weight 20 */
        IF(
          (
            `t34`.`_total_w` > 0
          ) AND (
            `t34`.`_w__support` > 0
          ),
          (
            (
              (
                `t34`.`_d__support` / `t34`.`_total_w`
              ) * `t34`.`_p__tickets`
            ) / `t34`.`_w__support`
          ) * 100.0,
          0.0
        ) AS `tickets__weight`, /* metric tickets: weight 50 */
        IF(
          (
            `t34`.`_total_w` > 0
          ) AND (
            `t34`.`_w__support` > 0
          ),
          (
            (
              (
                `t34`.`_d__support` / `t34`.`_total_w`
              ) * `t34`.`_p__ticket_csat`
            ) / `t34`.`_w__support`
          ) * 100.0,
          0.0
        ) AS `ticket_csat__weight`, /* metric ticket_csat: weight 50 */
        IF(
          (
            `t34`.`_total_w` > 0
          ) AND (
            `t34`.`_w__loyalty` > 0
          ),
          (
            (
              (
                `t34`.`_d__loyalty` / `t34`.`_total_w`
              ) * `t34`.`_p__nps`
            ) / `t34`.`_w__loyalty`
          ) * 100.0,
          0.0
        ) AS `nps__weight`, /* metric nps: weight 50 */
        IF(
          (
            `t34`.`_total_w` > 0
          ) AND (
            `t34`.`_w__loyalty` > 0
          ),
          (
            (
              (
                `t34`.`_d__loyalty` / `t34`.`_total_w`
              ) * `t34`.`_p__renewed`
            ) / `t34`.`_w__loyalty`
          ) * 100.0,
          0.0
        ) AS `renewed__weight`, /* metric renewed: weight 30 */
        IF(
          (
            `t34`.`_total_w` > 0
          ) AND (
            `t34`.`_w__loyalty` > 0
          ),
          (
            (
              (
                `t34`.`_d__loyalty` / `t34`.`_total_w`
              ) * `t34`.`_p__mrr`
            ) / `t34`.`_w__loyalty`
          ) * 100.0,
          0.0
        ) AS `mrr__weight` /* metric mrr: weight 20 */
      FROM (
        SELECT
          `t33`.`customer_id`,
          `t33`.`owner`,
          `t33`.`segment`,
          `t33`.`logins__raw`,
          `t33`.`feature_use__raw`,
          `t33`.`days_since_login__raw`,
          `t33`.`tickets__raw`,
          `t33`.`ticket_csat__raw`,
          `t33`.`nps__raw`,
          `t33`.`renewed__raw`,
          `t33`.`mrr__raw`,
          `t33`.`logins__missing`,
          `t33`.`logins__score`,
          `t33`.`feature_use__missing`,
          `t33`.`feature_use__score`,
          `t33`.`days_since_login__missing`,
          `t33`.`days_since_login__score`,
          `t33`.`tickets__missing`,
          `t33`.`tickets__score`,
          `t33`.`ticket_csat__missing`,
          `t33`.`ticket_csat__score`,
          `t33`.`nps__missing`,
          `t33`.`nps__score`,
          `t33`.`renewed__missing`,
          `t33`.`renewed__score`,
          `t33`.`mrr__missing`,
          `t33`.`mrr__score`,
          `t33`.`_p__logins`,
          `t33`.`_p__feature_use`,
          `t33`.`_p__days_since_login`,
          `t33`.`_p__tickets`,
          `t33`.`_p__ticket_csat`,
          `t33`.`_p__nps`,
          `t33`.`_p__renewed`,
          `t33`.`_p__mrr`,
          `t33`.`_p__logins` + `t33`.`_p__feature_use` + `t33`.`_p__days_since_login` AS `_w__usage`,
          (
            `t33`.`_p__logins` * COALESCE(`t33`.`logins__score`, 0)
          ) + (
            `t33`.`_p__feature_use` * COALESCE(`t33`.`feature_use__score`, 0)
          ) + (
            `t33`.`_p__days_since_login` * COALESCE(`t33`.`days_since_login__score`, 0)
          ) AS `_n__usage`,
          `t33`.`_p__tickets` + `t33`.`_p__ticket_csat` AS `_w__support`,
          (
            `t33`.`_p__tickets` * COALESCE(`t33`.`tickets__score`, 0)
          ) + (
            `t33`.`_p__ticket_csat` * COALESCE(`t33`.`ticket_csat__score`, 0)
          ) AS `_n__support`,
          `t33`.`_p__nps` + `t33`.`_p__renewed` + `t33`.`_p__mrr` AS `_w__loyalty`,
          (
            `t33`.`_p__nps` * COALESCE(`t33`.`nps__score`, 0)
          ) + (
            `t33`.`_p__renewed` * COALESCE(`t33`.`renewed__score`, 0)
          ) + (
            `t33`.`_p__mrr` * COALESCE(`t33`.`mrr__score`, 0)
          ) AS `_n__loyalty`,
          IF(
            (
              `t33`.`_p__logins` + `t33`.`_p__feature_use` + `t33`.`_p__days_since_login`
            ) > 0,
            40.0,
            0.0
          ) AS `_d__usage`,
          IF((
            `t33`.`_p__tickets` + `t33`.`_p__ticket_csat`
          ) > 0, 20.0, 0.0) AS `_d__support`,
          IF((
            `t33`.`_p__nps` + `t33`.`_p__renewed` + `t33`.`_p__mrr`
          ) > 0, 40.0, 0.0) AS `_d__loyalty`,
          IF(
            (
              `t33`.`_p__logins` + `t33`.`_p__feature_use` + `t33`.`_p__days_since_login`
            ) > 0,
            40.0,
            0.0
          ) + IF((
            `t33`.`_p__tickets` + `t33`.`_p__ticket_csat`
          ) > 0, 20.0, 0.0) + IF((
            `t33`.`_p__nps` + `t33`.`_p__renewed` + `t33`.`_p__mrr`
          ) > 0, 40.0, 0.0) AS `_total_w`
        FROM (
          SELECT
            `t32`.`customer_id`,
            `t32`.`owner`,
            `t32`.`segment`,
            `t32`.`logins__raw`,
            `t32`.`feature_use__raw`,
            `t32`.`days_since_login__raw`,
            `t32`.`tickets__raw`,
            `t32`.`ticket_csat__raw`,
            `t32`.`nps__raw`,
            `t32`.`renewed__raw`,
            `t32`.`mrr__raw`,
            `t32`.`logins__missing`,
            `t32`.`logins__score`,
            `t32`.`feature_use__missing`,
            `t32`.`feature_use__score`,
            `t32`.`days_since_login__missing`,
            `t32`.`days_since_login__score`,
            `t32`.`tickets__missing`,
            `t32`.`tickets__score`,
            `t32`.`ticket_csat__missing`,
            `t32`.`ticket_csat__score`,
            `t32`.`nps__missing`,
            `t32`.`nps__score`,
            `t32`.`renewed__missing`,
            `t32`.`renewed__score`,
            `t32`.`mrr__missing`,
            `t32`.`mrr__score`,
            IF(`t32`.`logins__score` IS NULL OR ISNAN(`t32`.`logins__score`), 0.0, 50.0) AS `_p__logins`,
            IF(`t32`.`feature_use__score` IS NULL OR ISNAN(`t32`.`feature_use__score`), 0.0, 30.0) AS `_p__feature_use`,
            IF(
              `t32`.`days_since_login__score` IS NULL OR ISNAN(`t32`.`days_since_login__score`),
              0.0,
              20.0
            ) AS `_p__days_since_login`,
            IF(`t32`.`tickets__score` IS NULL OR ISNAN(`t32`.`tickets__score`), 0.0, 50.0) AS `_p__tickets`,
            IF(`t32`.`ticket_csat__score` IS NULL OR ISNAN(`t32`.`ticket_csat__score`), 0.0, 50.0) AS `_p__ticket_csat`,
            IF(`t32`.`nps__score` IS NULL OR ISNAN(`t32`.`nps__score`), 0.0, 50.0) AS `_p__nps`,
            IF(`t32`.`renewed__score` IS NULL OR ISNAN(`t32`.`renewed__score`), 0.0, 30.0) AS `_p__renewed`,
            IF(`t32`.`mrr__score` IS NULL OR ISNAN(`t32`.`mrr__score`), 0.0, 20.0) AS `_p__mrr`
          FROM `scored` AS `t32`
        ) AS `t33`
      ) AS `t34`
    ) AS `t35`
  ) AS `t36`
), `tiered` AS (
  /* step tiered: tiers by rank */
  SELECT
    `t38`.`customer_id`,
    `t38`.`owner`,
    `t38`.`segment`,
    `t38`.`logins__raw`,
    `t38`.`feature_use__raw`,
    `t38`.`days_since_login__raw`,
    `t38`.`tickets__raw`,
    `t38`.`ticket_csat__raw`,
    `t38`.`nps__raw`,
    `t38`.`renewed__raw`,
    `t38`.`mrr__raw`,
    `t38`.`logins__missing`,
    `t38`.`logins__score`,
    `t38`.`feature_use__missing`,
    `t38`.`feature_use__score`,
    `t38`.`days_since_login__missing`,
    `t38`.`days_since_login__score`,
    `t38`.`tickets__missing`,
    `t38`.`tickets__score`,
    `t38`.`ticket_csat__missing`,
    `t38`.`ticket_csat__score`,
    `t38`.`nps__missing`,
    `t38`.`nps__score`,
    `t38`.`renewed__missing`,
    `t38`.`renewed__score`,
    `t38`.`mrr__missing`,
    `t38`.`mrr__score`,
    `t38`.`_p__logins`,
    `t38`.`_p__feature_use`,
    `t38`.`_p__days_since_login`,
    `t38`.`_p__tickets`,
    `t38`.`_p__ticket_csat`,
    `t38`.`_p__nps`,
    `t38`.`_p__renewed`,
    `t38`.`_p__mrr`,
    `t38`.`_w__usage`,
    `t38`.`_n__usage`,
    `t38`.`_w__support`,
    `t38`.`_n__support`,
    `t38`.`_w__loyalty`,
    `t38`.`_n__loyalty`,
    `t38`.`_d__usage`,
    `t38`.`_d__support`,
    `t38`.`_d__loyalty`,
    `t38`.`_total_w`,
    `t38`.`dim__usage`,
    `t38`.`dim__support`,
    `t38`.`dim__loyalty`,
    `t38`.`logins__weight`,
    `t38`.`feature_use__weight`,
    `t38`.`days_since_login__weight`,
    `t38`.`tickets__weight`,
    `t38`.`ticket_csat__weight`,
    `t38`.`nps__weight`,
    `t38`.`renewed__weight`,
    `t38`.`mrr__weight`,
    `t38`.`logins__contribution`,
    `t38`.`feature_use__contribution`,
    `t38`.`days_since_login__contribution`,
    `t38`.`tickets__contribution`,
    `t38`.`ticket_csat__contribution`,
    `t38`.`nps__contribution`,
    `t38`.`renewed__contribution`,
    `t38`.`mrr__contribution`,
    `t38`.`_any_w`,
    `t38`.`_total`,
    `t38`.`coverage`,
    `t38`.`score`,
    IF(
      `t38`.`score` IS NULL OR ISNAN(`t38`.`score`),
      CAST(NULL AS STRING),
      CASE
        WHEN CUME_DIST() OVER (
          PARTITION BY `t38`.`score` IS NULL OR ISNAN(`t38`.`score`)
          ORDER BY `t38`.`score` DESC
        ) <= 0.2
        THEN 'healthy'
        WHEN CUME_DIST() OVER (
          PARTITION BY `t38`.`score` IS NULL OR ISNAN(`t38`.`score`)
          ORDER BY `t38`.`score` ASC NULLS LAST
        ) <= 0.35
        THEN 'at_risk'
        ELSE 'steady'
      END
    ) AS `tier`
  FROM `weighted` AS `t38`
)
SELECT
  `t40`.`customer_id`,
  `t40`.`score`,
  `t40`.`tier`,
  `t40`.`coverage`,
  `t40`.`owner`,
  `t40`.`segment`,
  `t40`.`dim__usage`,
  `t40`.`dim__support`,
  `t40`.`dim__loyalty`,
  `t40`.`logins__raw`,
  `t40`.`logins__score`,
  `t40`.`logins__weight`,
  `t40`.`logins__contribution`,
  `t40`.`logins__missing`,
  `t40`.`feature_use__raw`,
  `t40`.`feature_use__score`,
  `t40`.`feature_use__weight`,
  `t40`.`feature_use__contribution`,
  `t40`.`feature_use__missing`,
  `t40`.`days_since_login__raw`,
  `t40`.`days_since_login__score`,
  `t40`.`days_since_login__weight`,
  `t40`.`days_since_login__contribution`,
  `t40`.`days_since_login__missing`,
  `t40`.`tickets__raw`,
  `t40`.`tickets__score`,
  `t40`.`tickets__weight`,
  `t40`.`tickets__contribution`,
  `t40`.`tickets__missing`,
  `t40`.`ticket_csat__raw`,
  `t40`.`ticket_csat__score`,
  `t40`.`ticket_csat__weight`,
  `t40`.`ticket_csat__contribution`,
  `t40`.`ticket_csat__missing`,
  `t40`.`nps__raw`,
  `t40`.`nps__score`,
  `t40`.`nps__weight`,
  `t40`.`nps__contribution`,
  `t40`.`nps__missing`,
  `t40`.`renewed__raw`,
  `t40`.`renewed__score`,
  `t40`.`renewed__weight`,
  `t40`.`renewed__contribution`,
  `t40`.`renewed__missing`,
  `t40`.`mrr__raw`,
  `t40`.`mrr__score`,
  `t40`.`mrr__weight`,
  `t40`.`mrr__contribution`,
  `t40`.`mrr__missing`
FROM `tiered` AS `t40`
ORDER BY
  `t40`.`customer_id` ASC NULLS LAST
