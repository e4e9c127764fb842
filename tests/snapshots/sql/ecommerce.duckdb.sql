WITH "active_customers" AS (
  /* step active_customers: customers that existed at as_of and had not churned by then */
  SELECT
    "t2"."customer_id",
    "t2"."created_at",
    "t2"."owner",
    "t2"."segment"
  FROM "customers" AS "t2"
  WHERE
    (
      (
        "t2"."created_at" IS NULL
      )
      OR (
        CAST("t2"."created_at" AS DATE) <= MAKE_DATE(2025, 6, 30)
      )
    )
    AND (
      (
        "t2"."churned_at" IS NULL
      )
      OR (
        CAST("t2"."churned_at" AS DATE) > MAKE_DATE(2025, 6, 30)
      )
    )
), "agg_interactions" AS (
  /* step agg_interactions: one GROUP BY customer_id over interactions, rows up to as_of */
  SELECT
    "t4"."customer_id" AS "_cid",
    COUNT("t4"."customer_id") FILTER(WHERE
      (
        CAST("t4"."occurred_at" AS DATE) > MAKE_DATE(2025, 4, 1)
      )
      AND (
        "t4"."kind" = 'email_opened'
      )) AS "email_open_rate__num", /* metric email_open_rate: interactions ratio(count() kind=email_opened / count() kind=email_sent), window 90d */
    COUNT("t4"."customer_id") FILTER(WHERE
      (
        CAST("t4"."occurred_at" AS DATE) > MAKE_DATE(2025, 4, 1)
      )
      AND (
        "t4"."kind" = 'email_sent'
      )) AS "email_open_rate__den",
    AVG("t4"."satisfaction") FILTER(WHERE
      (
        CAST("t4"."occurred_at" AS DATE) > MAKE_DATE(2024, 6, 30)
      )
      AND (
        "t4"."channel" = 'support'
      )) AS "support_satisfaction__v" /* metric support_satisfaction: interactions mean(satisfaction) channel=support, window 365d */
  FROM (
    SELECT
      *
    FROM "interactions" AS "t0"
    WHERE
      CAST("t0"."occurred_at" AS DATE) <= MAKE_DATE(2025, 6, 30)
      AND CAST("t0"."occurred_at" AS DATE) > MAKE_DATE(2024, 6, 30)
  ) AS "t4"
  GROUP BY
    1
), "agg_orders" AS (
  /* step agg_orders: one GROUP BY customer_id over orders, rows up to as_of */
  SELECT
    "t6"."customer_id" AS "_cid",
    SUM("t6"."amount") FILTER(WHERE
      (
        CAST("t6"."ordered_at" AS DATE) > MAKE_DATE(2024, 6, 30)
      )
      AND (
        "t6"."status" = 'paid'
      )) AS "annual_spend__v", /* metric annual_spend: orders sum(amount), window 365d */
    MAX(CAST("t6"."ordered_at" AS DATE)) FILTER(WHERE
      "t6"."status" = 'paid') AS "recency__last_day" /* metric recency: orders recency_days(), all history */
  FROM (
    SELECT
      *
    FROM "orders" AS "t3"
    WHERE
      CAST("t3"."ordered_at" AS DATE) <= MAKE_DATE(2025, 6, 30)
  ) AS "t6"
  GROUP BY
    1
), "agg_surveys" AS (
  /* step agg_surveys: one GROUP BY customer_id over surveys, rows up to as_of */
  SELECT
    "t5"."customer_id" AS "_cid",
    COUNT("t5"."customer_id") FILTER(WHERE
      (
        CAST("t5"."answered_at" AS DATE) > MAKE_DATE(2024, 6, 30)
      )
      AND (
        "t5"."kind" = 'nps'
      )
      AND (
        "t5"."score" >= 9
      )) AS "nps__promoters", /* metric nps: surveys nps(), window 365d */
    COUNT("t5"."customer_id") FILTER(WHERE
      (
        CAST("t5"."answered_at" AS DATE) > MAKE_DATE(2024, 6, 30)
      )
      AND (
        "t5"."kind" = 'nps'
      )
      AND (
        "t5"."score" <= 6
      )) AS "nps__detractors",
    COUNT("t5"."customer_id") FILTER(WHERE
      (
        CAST("t5"."answered_at" AS DATE) > MAKE_DATE(2024, 6, 30)
      )
      AND (
        "t5"."kind" = 'nps'
      )) AS "nps__answers"
  FROM (
    SELECT
      *
    FROM "surveys" AS "t1"
    WHERE
      CAST("t1"."answered_at" AS DATE) <= MAKE_DATE(2025, 6, 30)
      AND CAST("t1"."answered_at" AS DATE) > MAKE_DATE(2024, 6, 30)
  ) AS "t5"
  GROUP BY
    1
), "raw" AS (
  /* step raw: each metric's raw value per customer */
  SELECT
    "t26"."customer_id",
    "t26"."owner",
    "t26"."segment",
    CAST(ROUND(COALESCE("t26"."annual_spend__v", 0), 9) AS DOUBLE) AS "annual_spend__raw", /* metric annual_spend: orders sum(amount), window 365d */
    CAST(ROUND(
      CAST(DATE_DIFF('DAY', "t26"."recency__last_day", MAKE_DATE(2025, 6, 30)) AS DOUBLE),
      9
    ) AS DOUBLE) AS "recency__raw", /* metric recency: orders recency_days(), all history */
    CAST(ROUND(
      CASE
        WHEN (
          CAST("t26"."nps__answers" AS DOUBLE) IS NULL
        )
        OR (
          CAST("t26"."nps__answers" AS DOUBLE) = 0
        )
        THEN CAST(NULL AS DOUBLE)
        ELSE (
          (
            CAST("t26"."nps__promoters" AS DOUBLE) - CAST("t26"."nps__detractors" AS DOUBLE)
          ) * 100.0
        ) / CAST("t26"."nps__answers" AS DOUBLE)
      END,
      9
    ) AS DOUBLE) AS "nps__raw", /* metric nps: surveys nps(), window 365d */
    CAST(ROUND(
      CASE
        WHEN (
          CAST("t26"."email_open_rate__den" AS DOUBLE) IS NULL
        )
        OR (
          CAST("t26"."email_open_rate__den" AS DOUBLE) = 0
        )
        THEN CAST(NULL AS DOUBLE)
        ELSE COALESCE(CAST("t26"."email_open_rate__num" AS DOUBLE), 0) / CAST("t26"."email_open_rate__den" AS DOUBLE)
      END,
      9
    ) AS DOUBLE) AS "email_open_rate__raw", /* metric email_open_rate: interactions ratio(count() kind=email_opened / count() kind=email_sent), window 90d */
    CAST(ROUND("t26"."support_satisfaction__v", 9) AS DOUBLE) AS "support_satisfaction__raw" /* metric support_satisfaction: interactions mean(satisfaction) channel=support, window 365d */
  FROM (
    SELECT
      "t25".*
      EXCLUDE ("_cid")
    FROM (
      SELECT
        "t24"."customer_id",
        "t24"."created_at",
        "t24"."owner",
        "t24"."segment",
        "t24"."annual_spend__v",
        "t24"."recency__last_day",
        "t24"."nps__promoters",
        "t24"."nps__detractors",
        "t24"."nps__answers",
        "t15"."_cid",
        "t15"."email_open_rate__num",
        "t15"."email_open_rate__den",
        "t15"."support_satisfaction__v"
      FROM (
        SELECT
          "t22".*
          EXCLUDE ("_cid")
        FROM (
          SELECT
            "t21"."customer_id",
            "t21"."created_at",
            "t21"."owner",
            "t21"."segment",
            "t21"."annual_spend__v",
            "t21"."recency__last_day",
            "t18"."_cid",
            "t18"."nps__promoters",
            "t18"."nps__detractors",
            "t18"."nps__answers"
          FROM (
            SELECT
              "t19".*
              EXCLUDE ("_cid")
            FROM (
              SELECT
                "t9"."customer_id",
                "t9"."created_at",
                "t9"."owner",
                "t9"."segment",
                "t17"."_cid",
                "t17"."annual_spend__v",
                "t17"."recency__last_day"
              FROM "active_customers" AS "t9"
              LEFT OUTER JOIN "agg_orders" AS "t17"
                ON "t9"."customer_id" = "t17"."_cid"
            ) AS "t19"
          ) AS "t21"
          LEFT OUTER JOIN "agg_surveys" AS "t18"
            ON "t21"."customer_id" = "t18"."_cid"
        ) AS "t22"
      ) AS "t24"
      LEFT OUTER JOIN "agg_interactions" AS "t15"
        ON "t24"."customer_id" = "t15"."_cid"
    ) AS "t25"
  ) AS "t26"
), "normalised" AS (
  /* step normalised: raw values mapped onto 0..100 */
  SELECT
    "t28"."customer_id",
    "t28"."owner",
    "t28"."segment",
    "t28"."annual_spend__raw",
    "t28"."recency__raw",
    "t28"."nps__raw",
    "t28"."email_open_rate__raw",
    "t28"."support_satisfaction__raw",
    CASE
      WHEN CASE
        WHEN (
          (
            (
              "t28"."annual_spend__raw" - 0.0
            ) / 3000.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            "t28"."annual_spend__raw" - 0.0
          ) / 3000.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            "t28"."annual_spend__raw" - 0.0
          ) / 3000.0
        ) * 100.0)
      END IS NULL
      THEN CASE
        WHEN (
          (
            (
              "t28"."annual_spend__raw" - 0.0
            ) / 3000.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            "t28"."annual_spend__raw" - 0.0
          ) / 3000.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            "t28"."annual_spend__raw" - 0.0
          ) / 3000.0
        ) * 100.0)
      END
      ELSE GREATEST(
        0.0,
        CASE
          WHEN (
            (
              (
                "t28"."annual_spend__raw" - 0.0
              ) / 3000.0
            ) * 100.0
          ) IS NULL
          THEN (
            (
              "t28"."annual_spend__raw" - 0.0
            ) / 3000.0
          ) * 100.0
          ELSE LEAST(100.0, (
            (
              "t28"."annual_spend__raw" - 0.0
            ) / 3000.0
          ) * 100.0)
        END
      )
    END AS "annual_spend__norm", /* metric annual_spend: normalise range min=0 max=3000 direction=higher */
    100.0 - CASE
      WHEN CASE
        WHEN (
          (
            (
              "t28"."recency__raw" - 0.0
            ) / 270.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            "t28"."recency__raw" - 0.0
          ) / 270.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            "t28"."recency__raw" - 0.0
          ) / 270.0
        ) * 100.0)
      END IS NULL
      THEN CASE
        WHEN (
          (
            (
              "t28"."recency__raw" - 0.0
            ) / 270.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            "t28"."recency__raw" - 0.0
          ) / 270.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            "t28"."recency__raw" - 0.0
          ) / 270.0
        ) * 100.0)
      END
      ELSE GREATEST(
        0.0,
        CASE
          WHEN (
            (
              (
                "t28"."recency__raw" - 0.0
              ) / 270.0
            ) * 100.0
          ) IS NULL
          THEN (
            (
              "t28"."recency__raw" - 0.0
            ) / 270.0
          ) * 100.0
          ELSE LEAST(100.0, (
            (
              "t28"."recency__raw" - 0.0
            ) / 270.0
          ) * 100.0)
        END
      )
    END AS "recency__norm", /* metric recency: normalise range min=0 max=270 direction=lower */
    CASE
      WHEN CASE
        WHEN (
          (
            (
              "t28"."nps__raw" - -100.0
            ) / 200.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            "t28"."nps__raw" - -100.0
          ) / 200.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            "t28"."nps__raw" - -100.0
          ) / 200.0
        ) * 100.0)
      END IS NULL
      THEN CASE
        WHEN (
          (
            (
              "t28"."nps__raw" - -100.0
            ) / 200.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            "t28"."nps__raw" - -100.0
          ) / 200.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            "t28"."nps__raw" - -100.0
          ) / 200.0
        ) * 100.0)
      END
      ELSE GREATEST(
        0.0,
        CASE
          WHEN (
            (
              (
                "t28"."nps__raw" - -100.0
              ) / 200.0
            ) * 100.0
          ) IS NULL
          THEN (
            (
              "t28"."nps__raw" - -100.0
            ) / 200.0
          ) * 100.0
          ELSE LEAST(100.0, (
            (
              "t28"."nps__raw" - -100.0
            ) / 200.0
          ) * 100.0)
        END
      )
    END AS "nps__norm", /* metric nps: normalise range min=-100 max=100 direction=higher */
    CASE
      WHEN CASE
        WHEN (
          (
            (
              "t28"."email_open_rate__raw" - 0.0
            ) / 1.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            "t28"."email_open_rate__raw" - 0.0
          ) / 1.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            "t28"."email_open_rate__raw" - 0.0
          ) / 1.0
        ) * 100.0)
      END IS NULL
      THEN CASE
        WHEN (
          (
            (
              "t28"."email_open_rate__raw" - 0.0
            ) / 1.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            "t28"."email_open_rate__raw" - 0.0
          ) / 1.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            "t28"."email_open_rate__raw" - 0.0
          ) / 1.0
        ) * 100.0)
      END
      ELSE GREATEST(
        0.0,
        CASE
          WHEN (
            (
              (
                "t28"."email_open_rate__raw" - 0.0
              ) / 1.0
            ) * 100.0
          ) IS NULL
          THEN (
            (
              "t28"."email_open_rate__raw" - 0.0
            ) / 1.0
          ) * 100.0
          ELSE LEAST(100.0, (
            (
              "t28"."email_open_rate__raw" - 0.0
            ) / 1.0
          ) * 100.0)
        END
      )
    END AS "email_open_rate__norm", /* metric email_open_rate: normalise range min=0 max=1 direction=higher */
    CASE
      WHEN CASE
        WHEN (
          (
            (
              "t28"."support_satisfaction__raw" - 1.0
            ) / 4.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            "t28"."support_satisfaction__raw" - 1.0
          ) / 4.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            "t28"."support_satisfaction__raw" - 1.0
          ) / 4.0
        ) * 100.0)
      END IS NULL
      THEN CASE
        WHEN (
          (
            (
              "t28"."support_satisfaction__raw" - 1.0
            ) / 4.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            "t28"."support_satisfaction__raw" - 1.0
          ) / 4.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            "t28"."support_satisfaction__raw" - 1.0
          ) / 4.0
        ) * 100.0)
      END
      ELSE GREATEST(
        0.0,
        CASE
          WHEN (
            (
              (
                "t28"."support_satisfaction__raw" - 1.0
              ) / 4.0
            ) * 100.0
          ) IS NULL
          THEN (
            (
              "t28"."support_satisfaction__raw" - 1.0
            ) / 4.0
          ) * 100.0
          ELSE LEAST(100.0, (
            (
              "t28"."support_satisfaction__raw" - 1.0
            ) / 4.0
          ) * 100.0)
        END
      )
    END AS "support_satisfaction__norm" /* metric support_satisfaction: normalise range min=1 max=5 direction=higher */
  FROM "raw" AS "t28"
), "scored" AS (
  /* step scored: the missing-value policies */
  SELECT
    "t30"."customer_id",
    "t30"."owner",
    "t30"."segment",
    "t30"."annual_spend__raw",
    "t30"."recency__raw",
    "t30"."nps__raw",
    "t30"."email_open_rate__raw",
    "t30"."support_satisfaction__raw",
    "t30"."annual_spend__norm" IS NULL AS "annual_spend__missing",
    "t30"."annual_spend__norm" AS "annual_spend__score", /* metric annual_spend: missing -> reweight */
    "t30"."recency__norm" IS NULL AS "recency__missing",
    CASE WHEN "t30"."recency__norm" IS NULL THEN 0.0 ELSE "t30"."recency__norm" END AS "recency__score", /* metric recency: missing -> zero */
    "t30"."nps__norm" IS NULL AS "nps__missing",
    CASE WHEN "t30"."nps__norm" IS NULL THEN 50.0 ELSE "t30"."nps__norm" END AS "nps__score", /* metric nps: missing -> neutral 50 */
    "t30"."email_open_rate__norm" IS NULL AS "email_open_rate__missing",
    "t30"."email_open_rate__norm" AS "email_open_rate__score", /* metric email_open_rate: missing -> reweight */
    "t30"."support_satisfaction__norm" IS NULL AS "support_satisfaction__missing",
    "t30"."support_satisfaction__norm" AS "support_satisfaction__score" /* metric support_satisfaction: missing -> reweight */
  FROM "normalised" AS "t30"
), "weighted" AS (
  /* step weighted: weights, dimension scores, contributions, total and coverage */
  SELECT
    "t36"."customer_id",
    "t36"."owner",
    "t36"."segment",
    "t36"."annual_spend__raw",
    "t36"."recency__raw",
    "t36"."nps__raw",
    "t36"."email_open_rate__raw",
    "t36"."support_satisfaction__raw",
    "t36"."annual_spend__missing",
    "t36"."annual_spend__score",
    "t36"."recency__missing",
    "t36"."recency__score",
    "t36"."nps__missing",
    "t36"."nps__score",
    "t36"."email_open_rate__missing",
    "t36"."email_open_rate__score",
    "t36"."support_satisfaction__missing",
    "t36"."support_satisfaction__score",
    "t36"."_p__annual_spend",
    "t36"."_p__recency",
    "t36"."_p__nps",
    "t36"."_p__email_open_rate",
    "t36"."_p__support_satisfaction",
    "t36"."_w__value",
    "t36"."_n__value",
    "t36"."_w__loyalty",
    "t36"."_n__loyalty",
    "t36"."_w__engagement",
    "t36"."_n__engagement",
    "t36"."_total_w",
    "t36"."dim__value",
    "t36"."dim__loyalty",
    "t36"."dim__engagement",
    "t36"."annual_spend__weight",
    "t36"."recency__weight",
    "t36"."nps__weight",
    "t36"."email_open_rate__weight",
    "t36"."support_satisfaction__weight",
    "t36"."annual_spend__contribution",
    "t36"."recency__contribution",
    "t36"."nps__contribution",
    "t36"."email_open_rate__contribution",
    "t36"."support_satisfaction__contribution",
    "t36"."_any_w",
    "t36"."_total",
    "t36"."coverage",
    CASE
      WHEN "t36"."_any_w"
      THEN CAST(ROUND(
        CASE
          WHEN CASE
            WHEN "t36"."_total" IS NULL
            THEN "t36"."_total"
            ELSE LEAST(100.0, "t36"."_total")
          END IS NULL
          THEN CASE
            WHEN "t36"."_total" IS NULL
            THEN "t36"."_total"
            ELSE LEAST(100.0, "t36"."_total")
          END
          ELSE GREATEST(
            0.0,
            CASE
              WHEN "t36"."_total" IS NULL
              THEN "t36"."_total"
              ELSE LEAST(100.0, "t36"."_total")
            END
          )
        END,
        6
      ) AS DOUBLE)
      ELSE CAST(NULL AS DOUBLE)
    END AS "score"
  FROM (
    SELECT
      "t35"."customer_id",
      "t35"."owner",
      "t35"."segment",
      "t35"."annual_spend__raw",
      "t35"."recency__raw",
      "t35"."nps__raw",
      "t35"."email_open_rate__raw",
      "t35"."support_satisfaction__raw",
      "t35"."annual_spend__missing",
      "t35"."annual_spend__score",
      "t35"."recency__missing",
      "t35"."recency__score",
      "t35"."nps__missing",
      "t35"."nps__score",
      "t35"."email_open_rate__missing",
      "t35"."email_open_rate__score",
      "t35"."support_satisfaction__missing",
      "t35"."support_satisfaction__score",
      "t35"."_p__annual_spend",
      "t35"."_p__recency",
      "t35"."_p__nps",
      "t35"."_p__email_open_rate",
      "t35"."_p__support_satisfaction",
      "t35"."_w__value",
      "t35"."_n__value",
      "t35"."_w__loyalty",
      "t35"."_n__loyalty",
      "t35"."_w__engagement",
      "t35"."_n__engagement",
      "t35"."_total_w",
      "t35"."dim__value",
      "t35"."dim__loyalty",
      "t35"."dim__engagement",
      "t35"."annual_spend__weight",
      "t35"."recency__weight",
      "t35"."nps__weight",
      "t35"."email_open_rate__weight",
      "t35"."support_satisfaction__weight",
      (
        "t35"."annual_spend__weight" * COALESCE("t35"."annual_spend__score", 0)
      ) / 100.0 AS "annual_spend__contribution",
      (
        "t35"."recency__weight" * COALESCE("t35"."recency__score", 0)
      ) / 100.0 AS "recency__contribution",
      (
        "t35"."nps__weight" * COALESCE("t35"."nps__score", 0)
      ) / 100.0 AS "nps__contribution",
      (
        "t35"."email_open_rate__weight" * COALESCE("t35"."email_open_rate__score", 0)
      ) / 100.0 AS "email_open_rate__contribution",
      (
        "t35"."support_satisfaction__weight" * COALESCE("t35"."support_satisfaction__score", 0)
      ) / 100.0 AS "support_satisfaction__contribution",
      (
        "t35"."annual_spend__weight" + "t35"."recency__weight" + "t35"."nps__weight" + "t35"."email_open_rate__weight" + "t35"."support_satisfaction__weight"
      ) > 0 AS "_any_w",
      (
        (
          "t35"."annual_spend__weight" * COALESCE("t35"."annual_spend__score", 0)
        ) / 100.0
      ) + (
        (
          "t35"."recency__weight" * COALESCE("t35"."recency__score", 0)
        ) / 100.0
      ) + (
        (
          "t35"."nps__weight" * COALESCE("t35"."nps__score", 0)
        ) / 100.0
      ) + (
        (
          "t35"."email_open_rate__weight" * COALESCE("t35"."email_open_rate__score", 0)
        ) / 100.0
      ) + (
        (
          "t35"."support_satisfaction__weight" * COALESCE("t35"."support_satisfaction__score", 0)
        ) / 100.0
      ) AS "_total",
      CAST(ROUND(
        CASE WHEN "t35"."annual_spend__missing" THEN 0.0 ELSE 30.0 END + CASE WHEN "t35"."recency__missing" THEN 0.0 ELSE 25.0 END + CASE WHEN "t35"."nps__missing" THEN 0.0 ELSE 20.0 END + CASE WHEN "t35"."email_open_rate__missing" THEN 0.0 ELSE 15.0 END + CASE WHEN "t35"."support_satisfaction__missing" THEN 0.0 ELSE 10.0 END,
        6
      ) AS DOUBLE) AS "coverage"
    FROM (
      SELECT
        "t34"."customer_id",
        "t34"."owner",
        "t34"."segment",
        "t34"."annual_spend__raw",
        "t34"."recency__raw",
        "t34"."nps__raw",
        "t34"."email_open_rate__raw",
        "t34"."support_satisfaction__raw",
        "t34"."annual_spend__missing",
        "t34"."annual_spend__score",
        "t34"."recency__missing",
        "t34"."recency__score",
        "t34"."nps__missing",
        "t34"."nps__score",
        "t34"."email_open_rate__missing",
        "t34"."email_open_rate__score",
        "t34"."support_satisfaction__missing",
        "t34"."support_satisfaction__score",
        "t34"."_p__annual_spend",
        "t34"."_p__recency",
        "t34"."_p__nps",
        "t34"."_p__email_open_rate",
        "t34"."_p__support_satisfaction",
        "t34"."_w__value",
        "t34"."_n__value",
        "t34"."_w__loyalty",
        "t34"."_n__loyalty",
        "t34"."_w__engagement",
        "t34"."_n__engagement",
        "t34"."_total_w",
        CAST(ROUND(
          CASE
            WHEN "t34"."_w__value" > 0
            THEN "t34"."_n__value" / "t34"."_w__value"
            ELSE CAST(NULL AS DOUBLE)
          END,
          6
        ) AS DOUBLE) AS "dim__value",
        CAST(ROUND(
          CASE
            WHEN "t34"."_w__loyalty" > 0
            THEN "t34"."_n__loyalty" / "t34"."_w__loyalty"
            ELSE CAST(NULL AS DOUBLE)
          END,
          6
        ) AS DOUBLE) AS "dim__loyalty",
        CAST(ROUND(
          CASE
            WHEN "t34"."_w__engagement" > 0
            THEN "t34"."_n__engagement" / "t34"."_w__engagement"
            ELSE CAST(NULL AS DOUBLE)
          END,
          6
        ) AS DOUBLE) AS "dim__engagement",
        CASE
          WHEN "t34"."_total_w" > 0
          THEN (
            "t34"."_p__annual_spend" / "t34"."_total_w"
          ) * 100.0
          ELSE 0.0
        END AS "annual_spend__weight", /* metric annual_spend: weight 30 */
        CASE
          WHEN "t34"."_total_w" > 0
          THEN (
            "t34"."_p__recency" / "t34"."_total_w"
          ) * 100.0
          ELSE 0.0
        END AS "recency__weight", /* metric recency: weight 25 */
        CASE
          WHEN "t34"."_total_w" > 0
          THEN (
            "t34"."_p__nps" / "t34"."_total_w"
          ) * 100.0
          ELSE 0.0
        END AS "nps__weight", /* metric nps: weight 20 */
        CASE
          WHEN "t34"."_total_w" > 0
          THEN (
            "t34"."_p__email_open_rate" / "t34"."_total_w"
          ) * 100.0
          ELSE 0.0
        END AS "email_open_rate__weight", /* metric email_open_rate: weight 15 */
        CASE
          WHEN "t34"."_total_w" > 0
          THEN (
            "t34"."_p__support_satisfaction" / "t34"."_total_w"
          ) * 100.0
          ELSE 0.0
        END AS "support_satisfaction__weight" /* metric support_satisfaction: weight 10 */
      FROM (
        SELECT
          "t33"."customer_id",
          "t33"."owner",
          "t33"."segment",
          "t33"."annual_spend__raw",
          "t33"."recency__raw",
          "t33"."nps__raw",
          "t33"."email_open_rate__raw",
          "t33"."support_satisfaction__raw",
          "t33"."annual_spend__missing",
          "t33"."annual_spend__score",
          "t33"."recency__missing",
          "t33"."recency__score",
          "t33"."nps__missing",
          "t33"."nps__score",
          "t33"."email_open_rate__missing",
          "t33"."email_open_rate__score",
          "t33"."support_satisfaction__missing",
          "t33"."support_satisfaction__score",
          "t33"."_p__annual_spend",
          "t33"."_p__recency",
          "t33"."_p__nps",
          "t33"."_p__email_open_rate",
          "t33"."_p__support_satisfaction",
          "t33"."_p__annual_spend" + "t33"."_p__recency" AS "_w__value",
          (
            "t33"."_p__annual_spend" * COALESCE("t33"."annual_spend__score", 0)
          ) + (
            "t33"."_p__recency" * COALESCE("t33"."recency__score", 0)
          ) AS "_n__value",
          "t33"."_p__nps" AS "_w__loyalty",
          "t33"."_p__nps" * COALESCE("t33"."nps__score", 0) AS "_n__loyalty",
          "t33"."_p__email_open_rate" + "t33"."_p__support_satisfaction" AS "_w__engagement",
          (
            "t33"."_p__email_open_rate" * COALESCE("t33"."email_open_rate__score", 0)
          ) + (
            "t33"."_p__support_satisfaction" * COALESCE("t33"."support_satisfaction__score", 0)
          ) AS "_n__engagement",
          "t33"."_p__annual_spend" + "t33"."_p__recency" + "t33"."_p__nps" + "t33"."_p__email_open_rate" + "t33"."_p__support_satisfaction" AS "_total_w"
        FROM (
          SELECT
            "t32"."customer_id",
            "t32"."owner",
            "t32"."segment",
            "t32"."annual_spend__raw",
            "t32"."recency__raw",
            "t32"."nps__raw",
            "t32"."email_open_rate__raw",
            "t32"."support_satisfaction__raw",
            "t32"."annual_spend__missing",
            "t32"."annual_spend__score",
            "t32"."recency__missing",
            "t32"."recency__score",
            "t32"."nps__missing",
            "t32"."nps__score",
            "t32"."email_open_rate__missing",
            "t32"."email_open_rate__score",
            "t32"."support_satisfaction__missing",
            "t32"."support_satisfaction__score",
            CASE WHEN "t32"."annual_spend__score" IS NULL THEN 0.0 ELSE 30.0 END AS "_p__annual_spend",
            CASE WHEN "t32"."recency__score" IS NULL THEN 0.0 ELSE 25.0 END AS "_p__recency",
            CASE WHEN "t32"."nps__score" IS NULL THEN 0.0 ELSE 20.0 END AS "_p__nps",
            CASE WHEN "t32"."email_open_rate__score" IS NULL THEN 0.0 ELSE 15.0 END AS "_p__email_open_rate",
            CASE WHEN "t32"."support_satisfaction__score" IS NULL THEN 0.0 ELSE 10.0 END AS "_p__support_satisfaction"
          FROM "scored" AS "t32"
        ) AS "t33"
      ) AS "t34"
    ) AS "t35"
  ) AS "t36"
), "tiered" AS (
  /* step tiered: tiers by score */
  SELECT
    "t38"."customer_id",
    "t38"."owner",
    "t38"."segment",
    "t38"."annual_spend__raw",
    "t38"."recency__raw",
    "t38"."nps__raw",
    "t38"."email_open_rate__raw",
    "t38"."support_satisfaction__raw",
    "t38"."annual_spend__missing",
    "t38"."annual_spend__score",
    "t38"."recency__missing",
    "t38"."recency__score",
    "t38"."nps__missing",
    "t38"."nps__score",
    "t38"."email_open_rate__missing",
    "t38"."email_open_rate__score",
    "t38"."support_satisfaction__missing",
    "t38"."support_satisfaction__score",
    "t38"."_p__annual_spend",
    "t38"."_p__recency",
    "t38"."_p__nps",
    "t38"."_p__email_open_rate",
    "t38"."_p__support_satisfaction",
    "t38"."_w__value",
    "t38"."_n__value",
    "t38"."_w__loyalty",
    "t38"."_n__loyalty",
    "t38"."_w__engagement",
    "t38"."_n__engagement",
    "t38"."_total_w",
    "t38"."dim__value",
    "t38"."dim__loyalty",
    "t38"."dim__engagement",
    "t38"."annual_spend__weight",
    "t38"."recency__weight",
    "t38"."nps__weight",
    "t38"."email_open_rate__weight",
    "t38"."support_satisfaction__weight",
    "t38"."annual_spend__contribution",
    "t38"."recency__contribution",
    "t38"."nps__contribution",
    "t38"."email_open_rate__contribution",
    "t38"."support_satisfaction__contribution",
    "t38"."_any_w",
    "t38"."_total",
    "t38"."coverage",
    "t38"."score",
    CASE
      WHEN "t38"."score" IS NULL
      THEN CAST(NULL AS TEXT)
      ELSE CASE
        WHEN "t38"."score" >= 79.0
        THEN 'core'
        WHEN "t38"."score" >= 53.0
        THEN 'potential'
        WHEN "t38"."score" >= 36.0
        THEN 'ordinary'
        ELSE 'at_risk'
      END
    END AS "tier"
  FROM "weighted" AS "t38"
)
SELECT
  "t40"."customer_id",
  "t40"."score",
  "t40"."tier",
  "t40"."coverage",
  "t40"."owner",
  "t40"."segment",
  "t40"."dim__value",
  "t40"."dim__loyalty",
  "t40"."dim__engagement",
  "t40"."annual_spend__raw",
  "t40"."annual_spend__score",
  "t40"."annual_spend__weight",
  "t40"."annual_spend__contribution",
  "t40"."annual_spend__missing",
  "t40"."recency__raw",
  "t40"."recency__score",
  "t40"."recency__weight",
  "t40"."recency__contribution",
  "t40"."recency__missing",
  "t40"."nps__raw",
  "t40"."nps__score",
  "t40"."nps__weight",
  "t40"."nps__contribution",
  "t40"."nps__missing",
  "t40"."email_open_rate__raw",
  "t40"."email_open_rate__score",
  "t40"."email_open_rate__weight",
  "t40"."email_open_rate__contribution",
  "t40"."email_open_rate__missing",
  "t40"."support_satisfaction__raw",
  "t40"."support_satisfaction__score",
  "t40"."support_satisfaction__weight",
  "t40"."support_satisfaction__contribution",
  "t40"."support_satisfaction__missing"
FROM "tiered" AS "t40"
ORDER BY
  "t40"."customer_id" ASC
