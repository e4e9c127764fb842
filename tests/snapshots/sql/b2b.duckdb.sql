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
), "agg_surveys" AS (
  /* step agg_surveys: one GROUP BY customer_id over surveys, rows up to as_of */
  SELECT
    "t4"."customer_id" AS "_cid",
    AVG("t4"."score") FILTER(WHERE
      (
        CAST("t4"."answered_at" AS DATE) > MAKE_DATE(2024, 6, 30)
      )
      AND (
        "t4"."kind" = 'nps'
      )) AS "nps_answer__mean", /* metric nps_answer: surveys survey_mean() kind=nps, window 365d */
    AVG("t4"."score") FILTER(WHERE
      (
        CAST("t4"."answered_at" AS DATE) > MAKE_DATE(2024, 6, 30)
      )
      AND (
        "t4"."kind" = 'csat'
      )) AS "csat__mean" /* metric csat: surveys survey_mean() kind=csat, window 365d */
  FROM (
    SELECT
      *
    FROM "surveys" AS "t0"
    WHERE
      CAST("t0"."answered_at" AS DATE) <= MAKE_DATE(2025, 6, 30)
      AND CAST("t0"."answered_at" AS DATE) > MAKE_DATE(2024, 6, 30)
  ) AS "t4"
  GROUP BY
    1
), "agg_interactions" AS (
  /* step agg_interactions: one GROUP BY customer_id over interactions, rows up to as_of */
  SELECT
    "t5"."customer_id" AS "_cid",
    COUNT("t5"."customer_id") FILTER(WHERE
      (
        CAST("t5"."occurred_at" AS DATE) > MAKE_DATE(2025, 1, 1)
      )
      AND "t5"."channel" IN ('visit', 'phone', 'event', 'email')) AS "contacts__n" /* metric contacts: interactions monthly_count() channel=["visit","phone","event","email"], window 180d */
  FROM (
    SELECT
      *
    FROM "interactions" AS "t1"
    WHERE
      CAST("t1"."occurred_at" AS DATE) <= MAKE_DATE(2025, 6, 30)
      AND CAST("t1"."occurred_at" AS DATE) > MAKE_DATE(2025, 1, 1)
  ) AS "t5"
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
      )) AS "annual_purchases__v", /* metric annual_purchases: orders sum(amount), window 365d */
    SUM("t6"."amount" - COALESCE("t6"."cost", 0)) FILTER(WHERE
      (
        CAST("t6"."ordered_at" AS DATE) > MAKE_DATE(2024, 6, 30)
      )
      AND (
        "t6"."status" = 'paid'
      )) AS "annual_profit__profit", /* metric annual_profit: orders profit(), window 365d */
    COUNT(DISTINCT "t6"."product_line") FILTER(WHERE
      (
        CAST("t6"."ordered_at" AS DATE) > MAKE_DATE(2024, 6, 30)
      )
      AND (
        "t6"."status" = 'paid'
      )) AS "product_lines__v", /* metric product_lines: orders distinct_count(product_line), window 365d */
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
), "raw" AS (
  /* step raw: each metric's raw value per customer */
  SELECT
    "t26"."customer_id",
    "t26"."owner",
    "t26"."segment",
    CAST(ROUND(COALESCE("t26"."annual_purchases__v", 0), 9) AS DOUBLE) AS "annual_purchases__raw", /* metric annual_purchases: orders sum(amount), window 365d */
    CAST(ROUND(COALESCE("t26"."annual_profit__profit", 0), 9) AS DOUBLE) AS "annual_profit__raw", /* metric annual_profit: orders profit(), window 365d */
    CAST(ROUND(CAST(COALESCE("t26"."product_lines__v", 0) AS DOUBLE), 9) AS DOUBLE) AS "product_lines__raw", /* metric product_lines: orders distinct_count(product_line), window 365d */
    CAST(ROUND(
      CAST(DATE_DIFF('DAY', CAST("t26"."created_at" AS DATE), MAKE_DATE(2025, 6, 30)) AS DOUBLE),
      9
    ) AS DOUBLE) AS "tenure__raw", /* metric tenure: customers tenure_days(), all history */
    CAST(ROUND(
      CAST(DATE_DIFF('DAY', "t26"."recency__last_day", MAKE_DATE(2025, 6, 30)) AS DOUBLE),
      9
    ) AS DOUBLE) AS "recency__raw", /* metric recency: orders recency_days(), all history */
    CAST(ROUND(COALESCE("t26"."contacts__n" / 5.9137577002053385, 0), 9) AS DOUBLE) AS "contacts__raw", /* metric contacts: interactions monthly_count() channel=["visit","phone","event","email"], window 180d */
    CAST(ROUND("t26"."nps_answer__mean", 9) AS DOUBLE) AS "nps_answer__raw", /* metric nps_answer: surveys survey_mean() kind=nps, window 365d */
    CAST(ROUND("t26"."csat__mean", 9) AS DOUBLE) AS "csat__raw" /* metric csat: surveys survey_mean() kind=csat, window 365d */
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
        "t24"."annual_purchases__v",
        "t24"."annual_profit__profit",
        "t24"."product_lines__v",
        "t24"."recency__last_day",
        "t24"."contacts__n",
        "t16"."_cid",
        "t16"."nps_answer__mean",
        "t16"."csat__mean"
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
            "t21"."annual_purchases__v",
            "t21"."annual_profit__profit",
            "t21"."product_lines__v",
            "t21"."recency__last_day",
            "t17"."_cid",
            "t17"."contacts__n"
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
                "t18"."_cid",
                "t18"."annual_purchases__v",
                "t18"."annual_profit__profit",
                "t18"."product_lines__v",
                "t18"."recency__last_day"
              FROM "active_customers" AS "t9"
              LEFT OUTER JOIN "agg_orders" AS "t18"
                ON "t9"."customer_id" = "t18"."_cid"
            ) AS "t19"
          ) AS "t21"
          LEFT OUTER JOIN "agg_interactions" AS "t17"
            ON "t21"."customer_id" = "t17"."_cid"
        ) AS "t22"
      ) AS "t24"
      LEFT OUTER JOIN "agg_surveys" AS "t16"
        ON "t24"."customer_id" = "t16"."_cid"
    ) AS "t25"
  ) AS "t26"
), "normalised" AS (
  /* step normalised: raw values mapped onto 0..100 */
  SELECT
    "t28"."customer_id",
    "t28"."owner",
    "t28"."segment",
    "t28"."annual_purchases__raw",
    "t28"."annual_profit__raw",
    "t28"."product_lines__raw",
    "t28"."tenure__raw",
    "t28"."recency__raw",
    "t28"."contacts__raw",
    "t28"."nps_answer__raw",
    "t28"."csat__raw",
    CASE
      WHEN "t28"."annual_purchases__raw" IS NULL
      THEN CAST(NULL AS DOUBLE)
      ELSE CASE
        WHEN CASE
          WHEN CASE
            WHEN TRUE AND (
              "t28"."annual_purchases__raw" >= 40000.0
            )
            THEN 100.0
            WHEN TRUE
            AND (
              "t28"."annual_purchases__raw" >= 15000.0
            )
            AND (
              "t28"."annual_purchases__raw" < 40000.0
            )
            THEN 80.0
            WHEN TRUE
            AND (
              "t28"."annual_purchases__raw" >= 7000.0
            )
            AND (
              "t28"."annual_purchases__raw" < 15000.0
            )
            THEN 60.0
            WHEN TRUE
            AND (
              "t28"."annual_purchases__raw" >= 2000.0
            )
            AND (
              "t28"."annual_purchases__raw" < 7000.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END IS NULL
          THEN CASE
            WHEN TRUE AND (
              "t28"."annual_purchases__raw" >= 40000.0
            )
            THEN 100.0
            WHEN TRUE
            AND (
              "t28"."annual_purchases__raw" >= 15000.0
            )
            AND (
              "t28"."annual_purchases__raw" < 40000.0
            )
            THEN 80.0
            WHEN TRUE
            AND (
              "t28"."annual_purchases__raw" >= 7000.0
            )
            AND (
              "t28"."annual_purchases__raw" < 15000.0
            )
            THEN 60.0
            WHEN TRUE
            AND (
              "t28"."annual_purchases__raw" >= 2000.0
            )
            AND (
              "t28"."annual_purchases__raw" < 7000.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END
          ELSE LEAST(
            100.0,
            CASE
              WHEN TRUE AND (
                "t28"."annual_purchases__raw" >= 40000.0
              )
              THEN 100.0
              WHEN TRUE
              AND (
                "t28"."annual_purchases__raw" >= 15000.0
              )
              AND (
                "t28"."annual_purchases__raw" < 40000.0
              )
              THEN 80.0
              WHEN TRUE
              AND (
                "t28"."annual_purchases__raw" >= 7000.0
              )
              AND (
                "t28"."annual_purchases__raw" < 15000.0
              )
              THEN 60.0
              WHEN TRUE
              AND (
                "t28"."annual_purchases__raw" >= 2000.0
              )
              AND (
                "t28"."annual_purchases__raw" < 7000.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
          )
        END IS NULL
        THEN CASE
          WHEN CASE
            WHEN TRUE AND (
              "t28"."annual_purchases__raw" >= 40000.0
            )
            THEN 100.0
            WHEN TRUE
            AND (
              "t28"."annual_purchases__raw" >= 15000.0
            )
            AND (
              "t28"."annual_purchases__raw" < 40000.0
            )
            THEN 80.0
            WHEN TRUE
            AND (
              "t28"."annual_purchases__raw" >= 7000.0
            )
            AND (
              "t28"."annual_purchases__raw" < 15000.0
            )
            THEN 60.0
            WHEN TRUE
            AND (
              "t28"."annual_purchases__raw" >= 2000.0
            )
            AND (
              "t28"."annual_purchases__raw" < 7000.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END IS NULL
          THEN CASE
            WHEN TRUE AND (
              "t28"."annual_purchases__raw" >= 40000.0
            )
            THEN 100.0
            WHEN TRUE
            AND (
              "t28"."annual_purchases__raw" >= 15000.0
            )
            AND (
              "t28"."annual_purchases__raw" < 40000.0
            )
            THEN 80.0
            WHEN TRUE
            AND (
              "t28"."annual_purchases__raw" >= 7000.0
            )
            AND (
              "t28"."annual_purchases__raw" < 15000.0
            )
            THEN 60.0
            WHEN TRUE
            AND (
              "t28"."annual_purchases__raw" >= 2000.0
            )
            AND (
              "t28"."annual_purchases__raw" < 7000.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END
          ELSE LEAST(
            100.0,
            CASE
              WHEN TRUE AND (
                "t28"."annual_purchases__raw" >= 40000.0
              )
              THEN 100.0
              WHEN TRUE
              AND (
                "t28"."annual_purchases__raw" >= 15000.0
              )
              AND (
                "t28"."annual_purchases__raw" < 40000.0
              )
              THEN 80.0
              WHEN TRUE
              AND (
                "t28"."annual_purchases__raw" >= 7000.0
              )
              AND (
                "t28"."annual_purchases__raw" < 15000.0
              )
              THEN 60.0
              WHEN TRUE
              AND (
                "t28"."annual_purchases__raw" >= 2000.0
              )
              AND (
                "t28"."annual_purchases__raw" < 7000.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
          )
        END
        ELSE GREATEST(
          0.0,
          CASE
            WHEN CASE
              WHEN TRUE AND (
                "t28"."annual_purchases__raw" >= 40000.0
              )
              THEN 100.0
              WHEN TRUE
              AND (
                "t28"."annual_purchases__raw" >= 15000.0
              )
              AND (
                "t28"."annual_purchases__raw" < 40000.0
              )
              THEN 80.0
              WHEN TRUE
              AND (
                "t28"."annual_purchases__raw" >= 7000.0
              )
              AND (
                "t28"."annual_purchases__raw" < 15000.0
              )
              THEN 60.0
              WHEN TRUE
              AND (
                "t28"."annual_purchases__raw" >= 2000.0
              )
              AND (
                "t28"."annual_purchases__raw" < 7000.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END IS NULL
            THEN CASE
              WHEN TRUE AND (
                "t28"."annual_purchases__raw" >= 40000.0
              )
              THEN 100.0
              WHEN TRUE
              AND (
                "t28"."annual_purchases__raw" >= 15000.0
              )
              AND (
                "t28"."annual_purchases__raw" < 40000.0
              )
              THEN 80.0
              WHEN TRUE
              AND (
                "t28"."annual_purchases__raw" >= 7000.0
              )
              AND (
                "t28"."annual_purchases__raw" < 15000.0
              )
              THEN 60.0
              WHEN TRUE
              AND (
                "t28"."annual_purchases__raw" >= 2000.0
              )
              AND (
                "t28"."annual_purchases__raw" < 7000.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
            ELSE LEAST(
              100.0,
              CASE
                WHEN TRUE AND (
                  "t28"."annual_purchases__raw" >= 40000.0
                )
                THEN 100.0
                WHEN TRUE
                AND (
                  "t28"."annual_purchases__raw" >= 15000.0
                )
                AND (
                  "t28"."annual_purchases__raw" < 40000.0
                )
                THEN 80.0
                WHEN TRUE
                AND (
                  "t28"."annual_purchases__raw" >= 7000.0
                )
                AND (
                  "t28"."annual_purchases__raw" < 15000.0
                )
                THEN 60.0
                WHEN TRUE
                AND (
                  "t28"."annual_purchases__raw" >= 2000.0
                )
                AND (
                  "t28"."annual_purchases__raw" < 7000.0
                )
                THEN 40.0
                WHEN TRUE
                THEN 20.0
                ELSE 0.0
              END
            )
          END
        )
      END
    END AS "annual_purchases__norm", /* metric annual_purchases: normalise bins bins=[{"min":40000.0,"points":5.0},{"min":15000.0,"max":40000.0,"points":4.0},{"min":7000.0,"max":15000.0,"points":3.0},{"min":2000.0,"max":7000.0,"points":2.0},{"points":1.0}] out_of=5 */
    CASE
      WHEN "t28"."annual_profit__raw" IS NULL
      THEN CAST(NULL AS DOUBLE)
      ELSE CASE
        WHEN CASE
          WHEN CASE
            WHEN TRUE AND (
              "t28"."annual_profit__raw" >= 18000.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."annual_profit__raw" >= 7000.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."annual_profit__raw" >= 3000.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."annual_profit__raw" >= 1000.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END IS NULL
          THEN CASE
            WHEN TRUE AND (
              "t28"."annual_profit__raw" >= 18000.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."annual_profit__raw" >= 7000.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."annual_profit__raw" >= 3000.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."annual_profit__raw" >= 1000.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END
          ELSE LEAST(
            100.0,
            CASE
              WHEN TRUE AND (
                "t28"."annual_profit__raw" >= 18000.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."annual_profit__raw" >= 7000.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."annual_profit__raw" >= 3000.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."annual_profit__raw" >= 1000.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
          )
        END IS NULL
        THEN CASE
          WHEN CASE
            WHEN TRUE AND (
              "t28"."annual_profit__raw" >= 18000.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."annual_profit__raw" >= 7000.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."annual_profit__raw" >= 3000.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."annual_profit__raw" >= 1000.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END IS NULL
          THEN CASE
            WHEN TRUE AND (
              "t28"."annual_profit__raw" >= 18000.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."annual_profit__raw" >= 7000.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."annual_profit__raw" >= 3000.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."annual_profit__raw" >= 1000.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END
          ELSE LEAST(
            100.0,
            CASE
              WHEN TRUE AND (
                "t28"."annual_profit__raw" >= 18000.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."annual_profit__raw" >= 7000.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."annual_profit__raw" >= 3000.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."annual_profit__raw" >= 1000.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
          )
        END
        ELSE GREATEST(
          0.0,
          CASE
            WHEN CASE
              WHEN TRUE AND (
                "t28"."annual_profit__raw" >= 18000.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."annual_profit__raw" >= 7000.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."annual_profit__raw" >= 3000.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."annual_profit__raw" >= 1000.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END IS NULL
            THEN CASE
              WHEN TRUE AND (
                "t28"."annual_profit__raw" >= 18000.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."annual_profit__raw" >= 7000.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."annual_profit__raw" >= 3000.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."annual_profit__raw" >= 1000.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
            ELSE LEAST(
              100.0,
              CASE
                WHEN TRUE AND (
                  "t28"."annual_profit__raw" >= 18000.0
                )
                THEN 100.0
                WHEN TRUE AND (
                  "t28"."annual_profit__raw" >= 7000.0
                )
                THEN 80.0
                WHEN TRUE AND (
                  "t28"."annual_profit__raw" >= 3000.0
                )
                THEN 60.0
                WHEN TRUE AND (
                  "t28"."annual_profit__raw" >= 1000.0
                )
                THEN 40.0
                WHEN TRUE
                THEN 20.0
                ELSE 0.0
              END
            )
          END
        )
      END
    END AS "annual_profit__norm", /* metric annual_profit: normalise bins bins=[{"min":18000.0,"points":5.0},{"min":7000.0,"points":4.0},{"min":3000.0,"points":3.0},{"min":1000.0,"points":2.0},{"points":1.0}] out_of=5 */
    CASE
      WHEN "t28"."product_lines__raw" IS NULL
      THEN CAST(NULL AS DOUBLE)
      ELSE CASE
        WHEN CASE
          WHEN CASE
            WHEN TRUE AND (
              "t28"."product_lines__raw" >= 4.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."product_lines__raw" >= 3.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."product_lines__raw" >= 2.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."product_lines__raw" >= 1.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END IS NULL
          THEN CASE
            WHEN TRUE AND (
              "t28"."product_lines__raw" >= 4.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."product_lines__raw" >= 3.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."product_lines__raw" >= 2.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."product_lines__raw" >= 1.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END
          ELSE LEAST(
            100.0,
            CASE
              WHEN TRUE AND (
                "t28"."product_lines__raw" >= 4.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."product_lines__raw" >= 3.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."product_lines__raw" >= 2.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."product_lines__raw" >= 1.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
          )
        END IS NULL
        THEN CASE
          WHEN CASE
            WHEN TRUE AND (
              "t28"."product_lines__raw" >= 4.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."product_lines__raw" >= 3.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."product_lines__raw" >= 2.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."product_lines__raw" >= 1.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END IS NULL
          THEN CASE
            WHEN TRUE AND (
              "t28"."product_lines__raw" >= 4.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."product_lines__raw" >= 3.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."product_lines__raw" >= 2.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."product_lines__raw" >= 1.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END
          ELSE LEAST(
            100.0,
            CASE
              WHEN TRUE AND (
                "t28"."product_lines__raw" >= 4.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."product_lines__raw" >= 3.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."product_lines__raw" >= 2.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."product_lines__raw" >= 1.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
          )
        END
        ELSE GREATEST(
          0.0,
          CASE
            WHEN CASE
              WHEN TRUE AND (
                "t28"."product_lines__raw" >= 4.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."product_lines__raw" >= 3.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."product_lines__raw" >= 2.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."product_lines__raw" >= 1.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END IS NULL
            THEN CASE
              WHEN TRUE AND (
                "t28"."product_lines__raw" >= 4.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."product_lines__raw" >= 3.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."product_lines__raw" >= 2.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."product_lines__raw" >= 1.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
            ELSE LEAST(
              100.0,
              CASE
                WHEN TRUE AND (
                  "t28"."product_lines__raw" >= 4.0
                )
                THEN 100.0
                WHEN TRUE AND (
                  "t28"."product_lines__raw" >= 3.0
                )
                THEN 80.0
                WHEN TRUE AND (
                  "t28"."product_lines__raw" >= 2.0
                )
                THEN 60.0
                WHEN TRUE AND (
                  "t28"."product_lines__raw" >= 1.0
                )
                THEN 40.0
                WHEN TRUE
                THEN 20.0
                ELSE 0.0
              END
            )
          END
        )
      END
    END AS "product_lines__norm", /* metric product_lines: normalise bins bins=[{"min":4.0,"points":5.0},{"min":3.0,"points":4.0},{"min":2.0,"points":3.0},{"min":1.0,"points":2.0},{"points":1.0}] out_of=5 */
    CASE
      WHEN "t28"."tenure__raw" IS NULL
      THEN CAST(NULL AS DOUBLE)
      ELSE CASE
        WHEN CASE
          WHEN CASE
            WHEN TRUE AND (
              "t28"."tenure__raw" >= 2190.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."tenure__raw" >= 1460.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."tenure__raw" >= 1095.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."tenure__raw" >= 365.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END IS NULL
          THEN CASE
            WHEN TRUE AND (
              "t28"."tenure__raw" >= 2190.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."tenure__raw" >= 1460.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."tenure__raw" >= 1095.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."tenure__raw" >= 365.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END
          ELSE LEAST(
            100.0,
            CASE
              WHEN TRUE AND (
                "t28"."tenure__raw" >= 2190.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."tenure__raw" >= 1460.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."tenure__raw" >= 1095.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."tenure__raw" >= 365.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
          )
        END IS NULL
        THEN CASE
          WHEN CASE
            WHEN TRUE AND (
              "t28"."tenure__raw" >= 2190.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."tenure__raw" >= 1460.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."tenure__raw" >= 1095.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."tenure__raw" >= 365.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END IS NULL
          THEN CASE
            WHEN TRUE AND (
              "t28"."tenure__raw" >= 2190.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."tenure__raw" >= 1460.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."tenure__raw" >= 1095.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."tenure__raw" >= 365.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END
          ELSE LEAST(
            100.0,
            CASE
              WHEN TRUE AND (
                "t28"."tenure__raw" >= 2190.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."tenure__raw" >= 1460.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."tenure__raw" >= 1095.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."tenure__raw" >= 365.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
          )
        END
        ELSE GREATEST(
          0.0,
          CASE
            WHEN CASE
              WHEN TRUE AND (
                "t28"."tenure__raw" >= 2190.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."tenure__raw" >= 1460.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."tenure__raw" >= 1095.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."tenure__raw" >= 365.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END IS NULL
            THEN CASE
              WHEN TRUE AND (
                "t28"."tenure__raw" >= 2190.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."tenure__raw" >= 1460.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."tenure__raw" >= 1095.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."tenure__raw" >= 365.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
            ELSE LEAST(
              100.0,
              CASE
                WHEN TRUE AND (
                  "t28"."tenure__raw" >= 2190.0
                )
                THEN 100.0
                WHEN TRUE AND (
                  "t28"."tenure__raw" >= 1460.0
                )
                THEN 80.0
                WHEN TRUE AND (
                  "t28"."tenure__raw" >= 1095.0
                )
                THEN 60.0
                WHEN TRUE AND (
                  "t28"."tenure__raw" >= 365.0
                )
                THEN 40.0
                WHEN TRUE
                THEN 20.0
                ELSE 0.0
              END
            )
          END
        )
      END
    END AS "tenure__norm", /* metric tenure: normalise bins bins=[{"min":2190.0,"points":5.0},{"min":1460.0,"points":4.0},{"min":1095.0,"points":3.0},{"min":365.0,"points":2.0},{"points":1.0}] out_of=5 */
    CASE
      WHEN "t28"."recency__raw" IS NULL
      THEN CAST(NULL AS DOUBLE)
      ELSE CASE
        WHEN CASE
          WHEN CASE
            WHEN TRUE AND (
              "t28"."recency__raw" < 14.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."recency__raw" >= 14.0
            ) AND (
              "t28"."recency__raw" < 30.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."recency__raw" >= 30.0
            ) AND (
              "t28"."recency__raw" < 60.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."recency__raw" >= 60.0
            ) AND (
              "t28"."recency__raw" < 120.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END IS NULL
          THEN CASE
            WHEN TRUE AND (
              "t28"."recency__raw" < 14.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."recency__raw" >= 14.0
            ) AND (
              "t28"."recency__raw" < 30.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."recency__raw" >= 30.0
            ) AND (
              "t28"."recency__raw" < 60.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."recency__raw" >= 60.0
            ) AND (
              "t28"."recency__raw" < 120.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END
          ELSE LEAST(
            100.0,
            CASE
              WHEN TRUE AND (
                "t28"."recency__raw" < 14.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."recency__raw" >= 14.0
              ) AND (
                "t28"."recency__raw" < 30.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."recency__raw" >= 30.0
              ) AND (
                "t28"."recency__raw" < 60.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."recency__raw" >= 60.0
              ) AND (
                "t28"."recency__raw" < 120.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
          )
        END IS NULL
        THEN CASE
          WHEN CASE
            WHEN TRUE AND (
              "t28"."recency__raw" < 14.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."recency__raw" >= 14.0
            ) AND (
              "t28"."recency__raw" < 30.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."recency__raw" >= 30.0
            ) AND (
              "t28"."recency__raw" < 60.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."recency__raw" >= 60.0
            ) AND (
              "t28"."recency__raw" < 120.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END IS NULL
          THEN CASE
            WHEN TRUE AND (
              "t28"."recency__raw" < 14.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."recency__raw" >= 14.0
            ) AND (
              "t28"."recency__raw" < 30.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."recency__raw" >= 30.0
            ) AND (
              "t28"."recency__raw" < 60.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."recency__raw" >= 60.0
            ) AND (
              "t28"."recency__raw" < 120.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END
          ELSE LEAST(
            100.0,
            CASE
              WHEN TRUE AND (
                "t28"."recency__raw" < 14.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."recency__raw" >= 14.0
              ) AND (
                "t28"."recency__raw" < 30.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."recency__raw" >= 30.0
              ) AND (
                "t28"."recency__raw" < 60.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."recency__raw" >= 60.0
              ) AND (
                "t28"."recency__raw" < 120.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
          )
        END
        ELSE GREATEST(
          0.0,
          CASE
            WHEN CASE
              WHEN TRUE AND (
                "t28"."recency__raw" < 14.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."recency__raw" >= 14.0
              ) AND (
                "t28"."recency__raw" < 30.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."recency__raw" >= 30.0
              ) AND (
                "t28"."recency__raw" < 60.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."recency__raw" >= 60.0
              ) AND (
                "t28"."recency__raw" < 120.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END IS NULL
            THEN CASE
              WHEN TRUE AND (
                "t28"."recency__raw" < 14.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."recency__raw" >= 14.0
              ) AND (
                "t28"."recency__raw" < 30.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."recency__raw" >= 30.0
              ) AND (
                "t28"."recency__raw" < 60.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."recency__raw" >= 60.0
              ) AND (
                "t28"."recency__raw" < 120.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
            ELSE LEAST(
              100.0,
              CASE
                WHEN TRUE AND (
                  "t28"."recency__raw" < 14.0
                )
                THEN 100.0
                WHEN TRUE AND (
                  "t28"."recency__raw" >= 14.0
                ) AND (
                  "t28"."recency__raw" < 30.0
                )
                THEN 80.0
                WHEN TRUE AND (
                  "t28"."recency__raw" >= 30.0
                ) AND (
                  "t28"."recency__raw" < 60.0
                )
                THEN 60.0
                WHEN TRUE AND (
                  "t28"."recency__raw" >= 60.0
                ) AND (
                  "t28"."recency__raw" < 120.0
                )
                THEN 40.0
                WHEN TRUE
                THEN 20.0
                ELSE 0.0
              END
            )
          END
        )
      END
    END AS "recency__norm", /* metric recency: normalise bins bins=[{"max":14.0,"points":5.0},{"min":14.0,"max":30.0,"points":4.0},{"min":30.0,"max":60.0,"points":3.0},{"min":60.0,"max":120.0,"points":2.0},{"points":1.0}] out_of=5 */
    CASE
      WHEN CASE
        WHEN (
          CASE
            WHEN CASE
              WHEN (
                (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
              ) IS NULL
              THEN (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0
              ELSE LEAST(5.0, (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0)
            END IS NULL
            THEN CASE
              WHEN (
                (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
              ) IS NULL
              THEN (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0
              ELSE LEAST(5.0, (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0)
            END
            ELSE GREATEST(
              0.0,
              CASE
                WHEN (
                  (
                    (
                      "t28"."contacts__raw" * 0.5
                    ) / 1.0
                  ) + 1.0
                ) IS NULL
                THEN (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
                ELSE LEAST(5.0, (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0)
              END
            )
          END * 20.0
        ) IS NULL
        THEN CASE
          WHEN CASE
            WHEN (
              (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0
            ) IS NULL
            THEN (
              (
                "t28"."contacts__raw" * 0.5
              ) / 1.0
            ) + 1.0
            ELSE LEAST(5.0, (
              (
                "t28"."contacts__raw" * 0.5
              ) / 1.0
            ) + 1.0)
          END IS NULL
          THEN CASE
            WHEN (
              (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0
            ) IS NULL
            THEN (
              (
                "t28"."contacts__raw" * 0.5
              ) / 1.0
            ) + 1.0
            ELSE LEAST(5.0, (
              (
                "t28"."contacts__raw" * 0.5
              ) / 1.0
            ) + 1.0)
          END
          ELSE GREATEST(
            0.0,
            CASE
              WHEN (
                (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
              ) IS NULL
              THEN (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0
              ELSE LEAST(5.0, (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0)
            END
          )
        END * 20.0
        ELSE LEAST(
          100.0,
          CASE
            WHEN CASE
              WHEN (
                (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
              ) IS NULL
              THEN (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0
              ELSE LEAST(5.0, (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0)
            END IS NULL
            THEN CASE
              WHEN (
                (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
              ) IS NULL
              THEN (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0
              ELSE LEAST(5.0, (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0)
            END
            ELSE GREATEST(
              0.0,
              CASE
                WHEN (
                  (
                    (
                      "t28"."contacts__raw" * 0.5
                    ) / 1.0
                  ) + 1.0
                ) IS NULL
                THEN (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
                ELSE LEAST(5.0, (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0)
              END
            )
          END * 20.0
        )
      END IS NULL
      THEN CASE
        WHEN (
          CASE
            WHEN CASE
              WHEN (
                (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
              ) IS NULL
              THEN (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0
              ELSE LEAST(5.0, (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0)
            END IS NULL
            THEN CASE
              WHEN (
                (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
              ) IS NULL
              THEN (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0
              ELSE LEAST(5.0, (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0)
            END
            ELSE GREATEST(
              0.0,
              CASE
                WHEN (
                  (
                    (
                      "t28"."contacts__raw" * 0.5
                    ) / 1.0
                  ) + 1.0
                ) IS NULL
                THEN (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
                ELSE LEAST(5.0, (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0)
              END
            )
          END * 20.0
        ) IS NULL
        THEN CASE
          WHEN CASE
            WHEN (
              (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0
            ) IS NULL
            THEN (
              (
                "t28"."contacts__raw" * 0.5
              ) / 1.0
            ) + 1.0
            ELSE LEAST(5.0, (
              (
                "t28"."contacts__raw" * 0.5
              ) / 1.0
            ) + 1.0)
          END IS NULL
          THEN CASE
            WHEN (
              (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0
            ) IS NULL
            THEN (
              (
                "t28"."contacts__raw" * 0.5
              ) / 1.0
            ) + 1.0
            ELSE LEAST(5.0, (
              (
                "t28"."contacts__raw" * 0.5
              ) / 1.0
            ) + 1.0)
          END
          ELSE GREATEST(
            0.0,
            CASE
              WHEN (
                (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
              ) IS NULL
              THEN (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0
              ELSE LEAST(5.0, (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0)
            END
          )
        END * 20.0
        ELSE LEAST(
          100.0,
          CASE
            WHEN CASE
              WHEN (
                (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
              ) IS NULL
              THEN (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0
              ELSE LEAST(5.0, (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0)
            END IS NULL
            THEN CASE
              WHEN (
                (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
              ) IS NULL
              THEN (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0
              ELSE LEAST(5.0, (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0)
            END
            ELSE GREATEST(
              0.0,
              CASE
                WHEN (
                  (
                    (
                      "t28"."contacts__raw" * 0.5
                    ) / 1.0
                  ) + 1.0
                ) IS NULL
                THEN (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
                ELSE LEAST(5.0, (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0)
              END
            )
          END * 20.0
        )
      END
      ELSE GREATEST(
        0.0,
        CASE
          WHEN (
            CASE
              WHEN CASE
                WHEN (
                  (
                    (
                      "t28"."contacts__raw" * 0.5
                    ) / 1.0
                  ) + 1.0
                ) IS NULL
                THEN (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
                ELSE LEAST(5.0, (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0)
              END IS NULL
              THEN CASE
                WHEN (
                  (
                    (
                      "t28"."contacts__raw" * 0.5
                    ) / 1.0
                  ) + 1.0
                ) IS NULL
                THEN (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
                ELSE LEAST(5.0, (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0)
              END
              ELSE GREATEST(
                0.0,
                CASE
                  WHEN (
                    (
                      (
                        "t28"."contacts__raw" * 0.5
                      ) / 1.0
                    ) + 1.0
                  ) IS NULL
                  THEN (
                    (
                      "t28"."contacts__raw" * 0.5
                    ) / 1.0
                  ) + 1.0
                  ELSE LEAST(5.0, (
                    (
                      "t28"."contacts__raw" * 0.5
                    ) / 1.0
                  ) + 1.0)
                END
              )
            END * 20.0
          ) IS NULL
          THEN CASE
            WHEN CASE
              WHEN (
                (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
              ) IS NULL
              THEN (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0
              ELSE LEAST(5.0, (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0)
            END IS NULL
            THEN CASE
              WHEN (
                (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
              ) IS NULL
              THEN (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0
              ELSE LEAST(5.0, (
                (
                  "t28"."contacts__raw" * 0.5
                ) / 1.0
              ) + 1.0)
            END
            ELSE GREATEST(
              0.0,
              CASE
                WHEN (
                  (
                    (
                      "t28"."contacts__raw" * 0.5
                    ) / 1.0
                  ) + 1.0
                ) IS NULL
                THEN (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
                ELSE LEAST(5.0, (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0)
              END
            )
          END * 20.0
          ELSE LEAST(
            100.0,
            CASE
              WHEN CASE
                WHEN (
                  (
                    (
                      "t28"."contacts__raw" * 0.5
                    ) / 1.0
                  ) + 1.0
                ) IS NULL
                THEN (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
                ELSE LEAST(5.0, (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0)
              END IS NULL
              THEN CASE
                WHEN (
                  (
                    (
                      "t28"."contacts__raw" * 0.5
                    ) / 1.0
                  ) + 1.0
                ) IS NULL
                THEN (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0
                ELSE LEAST(5.0, (
                  (
                    "t28"."contacts__raw" * 0.5
                  ) / 1.0
                ) + 1.0)
              END
              ELSE GREATEST(
                0.0,
                CASE
                  WHEN (
                    (
                      (
                        "t28"."contacts__raw" * 0.5
                      ) / 1.0
                    ) + 1.0
                  ) IS NULL
                  THEN (
                    (
                      "t28"."contacts__raw" * 0.5
                    ) / 1.0
                  ) + 1.0
                  ELSE LEAST(5.0, (
                    (
                      "t28"."contacts__raw" * 0.5
                    ) / 1.0
                  ) + 1.0)
                END
              )
            END * 20.0
          )
        END
      )
    END AS "contacts__norm", /* metric contacts: normalise points per=1 points=0.5 base=1 cap=5 out_of=5 */
    CASE
      WHEN "t28"."nps_answer__raw" IS NULL
      THEN CAST(NULL AS DOUBLE)
      ELSE CASE
        WHEN CASE
          WHEN CASE
            WHEN TRUE AND (
              "t28"."nps_answer__raw" >= 9.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."nps_answer__raw" >= 8.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."nps_answer__raw" >= 7.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."nps_answer__raw" >= 6.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END IS NULL
          THEN CASE
            WHEN TRUE AND (
              "t28"."nps_answer__raw" >= 9.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."nps_answer__raw" >= 8.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."nps_answer__raw" >= 7.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."nps_answer__raw" >= 6.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END
          ELSE LEAST(
            100.0,
            CASE
              WHEN TRUE AND (
                "t28"."nps_answer__raw" >= 9.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."nps_answer__raw" >= 8.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."nps_answer__raw" >= 7.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."nps_answer__raw" >= 6.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
          )
        END IS NULL
        THEN CASE
          WHEN CASE
            WHEN TRUE AND (
              "t28"."nps_answer__raw" >= 9.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."nps_answer__raw" >= 8.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."nps_answer__raw" >= 7.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."nps_answer__raw" >= 6.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END IS NULL
          THEN CASE
            WHEN TRUE AND (
              "t28"."nps_answer__raw" >= 9.0
            )
            THEN 100.0
            WHEN TRUE AND (
              "t28"."nps_answer__raw" >= 8.0
            )
            THEN 80.0
            WHEN TRUE AND (
              "t28"."nps_answer__raw" >= 7.0
            )
            THEN 60.0
            WHEN TRUE AND (
              "t28"."nps_answer__raw" >= 6.0
            )
            THEN 40.0
            WHEN TRUE
            THEN 20.0
            ELSE 0.0
          END
          ELSE LEAST(
            100.0,
            CASE
              WHEN TRUE AND (
                "t28"."nps_answer__raw" >= 9.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."nps_answer__raw" >= 8.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."nps_answer__raw" >= 7.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."nps_answer__raw" >= 6.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
          )
        END
        ELSE GREATEST(
          0.0,
          CASE
            WHEN CASE
              WHEN TRUE AND (
                "t28"."nps_answer__raw" >= 9.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."nps_answer__raw" >= 8.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."nps_answer__raw" >= 7.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."nps_answer__raw" >= 6.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END IS NULL
            THEN CASE
              WHEN TRUE AND (
                "t28"."nps_answer__raw" >= 9.0
              )
              THEN 100.0
              WHEN TRUE AND (
                "t28"."nps_answer__raw" >= 8.0
              )
              THEN 80.0
              WHEN TRUE AND (
                "t28"."nps_answer__raw" >= 7.0
              )
              THEN 60.0
              WHEN TRUE AND (
                "t28"."nps_answer__raw" >= 6.0
              )
              THEN 40.0
              WHEN TRUE
              THEN 20.0
              ELSE 0.0
            END
            ELSE LEAST(
              100.0,
              CASE
                WHEN TRUE AND (
                  "t28"."nps_answer__raw" >= 9.0
                )
                THEN 100.0
                WHEN TRUE AND (
                  "t28"."nps_answer__raw" >= 8.0
                )
                THEN 80.0
                WHEN TRUE AND (
                  "t28"."nps_answer__raw" >= 7.0
                )
                THEN 60.0
                WHEN TRUE AND (
                  "t28"."nps_answer__raw" >= 6.0
                )
                THEN 40.0
                WHEN TRUE
                THEN 20.0
                ELSE 0.0
              END
            )
          END
        )
      END
    END AS "nps_answer__norm", /* metric nps_answer: normalise bins bins=[{"min":9.0,"points":5.0},{"min":8.0,"points":4.0},{"min":7.0,"points":3.0},{"min":6.0,"points":2.0},{"points":1.0}] out_of=5 */
    CASE
      WHEN CASE
        WHEN (
          (
            (
              "t28"."csat__raw" - 1.0
            ) / 4.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            "t28"."csat__raw" - 1.0
          ) / 4.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            "t28"."csat__raw" - 1.0
          ) / 4.0
        ) * 100.0)
      END IS NULL
      THEN CASE
        WHEN (
          (
            (
              "t28"."csat__raw" - 1.0
            ) / 4.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            "t28"."csat__raw" - 1.0
          ) / 4.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            "t28"."csat__raw" - 1.0
          ) / 4.0
        ) * 100.0)
      END
      ELSE GREATEST(
        0.0,
        CASE
          WHEN (
            (
              (
                "t28"."csat__raw" - 1.0
              ) / 4.0
            ) * 100.0
          ) IS NULL
          THEN (
            (
              "t28"."csat__raw" - 1.0
            ) / 4.0
          ) * 100.0
          ELSE LEAST(100.0, (
            (
              "t28"."csat__raw" - 1.0
            ) / 4.0
          ) * 100.0)
        END
      )
    END AS "csat__norm" /* metric csat: normalise range min=1 max=5 direction=higher */
  FROM "raw" AS "t28"
), "scored" AS (
  /* step scored: the missing-value policies */
  SELECT
    "t30"."customer_id",
    "t30"."owner",
    "t30"."segment",
    "t30"."annual_purchases__raw",
    "t30"."annual_profit__raw",
    "t30"."product_lines__raw",
    "t30"."tenure__raw",
    "t30"."recency__raw",
    "t30"."contacts__raw",
    "t30"."nps_answer__raw",
    "t30"."csat__raw",
    "t30"."annual_purchases__norm" IS NULL AS "annual_purchases__missing",
    "t30"."annual_purchases__norm" AS "annual_purchases__score", /* metric annual_purchases: missing -> reweight */
    "t30"."annual_profit__norm" IS NULL AS "annual_profit__missing",
    "t30"."annual_profit__norm" AS "annual_profit__score", /* metric annual_profit: missing -> reweight */
    "t30"."product_lines__norm" IS NULL AS "product_lines__missing",
    "t30"."product_lines__norm" AS "product_lines__score", /* metric product_lines: missing -> reweight */
    "t30"."tenure__norm" IS NULL AS "tenure__missing",
    "t30"."tenure__norm" AS "tenure__score", /* metric tenure: missing -> reweight */
    "t30"."recency__norm" IS NULL AS "recency__missing",
    CASE WHEN "t30"."recency__norm" IS NULL THEN 0.0 ELSE "t30"."recency__norm" END AS "recency__score", /* metric recency: missing -> zero */
    "t30"."contacts__norm" IS NULL AS "contacts__missing",
    "t30"."contacts__norm" AS "contacts__score", /* metric contacts: missing -> reweight */
    "t30"."nps_answer__norm" IS NULL AS "nps_answer__missing",
    CASE
      WHEN "t30"."nps_answer__norm" IS NULL
      THEN 60.0
      ELSE "t30"."nps_answer__norm"
    END AS "nps_answer__score", /* metric nps_answer: missing -> neutral 60 */
    "t30"."csat__norm" IS NULL AS "csat__missing",
    CASE WHEN "t30"."csat__norm" IS NULL THEN 60.0 ELSE "t30"."csat__norm" END AS "csat__score" /* metric csat: missing -> neutral 60 */
  FROM "normalised" AS "t30"
), "weighted" AS (
  /* step weighted: weights, dimension scores, contributions, total and coverage */
  SELECT
    "t36"."customer_id",
    "t36"."owner",
    "t36"."segment",
    "t36"."annual_purchases__raw",
    "t36"."annual_profit__raw",
    "t36"."product_lines__raw",
    "t36"."tenure__raw",
    "t36"."recency__raw",
    "t36"."contacts__raw",
    "t36"."nps_answer__raw",
    "t36"."csat__raw",
    "t36"."annual_purchases__missing",
    "t36"."annual_purchases__score",
    "t36"."annual_profit__missing",
    "t36"."annual_profit__score",
    "t36"."product_lines__missing",
    "t36"."product_lines__score",
    "t36"."tenure__missing",
    "t36"."tenure__score",
    "t36"."recency__missing",
    "t36"."recency__score",
    "t36"."contacts__missing",
    "t36"."contacts__score",
    "t36"."nps_answer__missing",
    "t36"."nps_answer__score",
    "t36"."csat__missing",
    "t36"."csat__score",
    "t36"."_p__annual_purchases",
    "t36"."_p__annual_profit",
    "t36"."_p__product_lines",
    "t36"."_p__tenure",
    "t36"."_p__recency",
    "t36"."_p__contacts",
    "t36"."_p__nps_answer",
    "t36"."_p__csat",
    "t36"."_w__value",
    "t36"."_n__value",
    "t36"."_w__depth",
    "t36"."_n__depth",
    "t36"."_w__activity",
    "t36"."_n__activity",
    "t36"."_w__satisfaction",
    "t36"."_n__satisfaction",
    "t36"."_d__value",
    "t36"."_d__depth",
    "t36"."_d__activity",
    "t36"."_d__satisfaction",
    "t36"."_total_w",
    "t36"."dim__value",
    "t36"."dim__depth",
    "t36"."dim__activity",
    "t36"."dim__satisfaction",
    "t36"."annual_purchases__weight",
    "t36"."annual_profit__weight",
    "t36"."product_lines__weight",
    "t36"."tenure__weight",
    "t36"."recency__weight",
    "t36"."contacts__weight",
    "t36"."nps_answer__weight",
    "t36"."csat__weight",
    "t36"."annual_purchases__contribution",
    "t36"."annual_profit__contribution",
    "t36"."product_lines__contribution",
    "t36"."tenure__contribution",
    "t36"."recency__contribution",
    "t36"."contacts__contribution",
    "t36"."nps_answer__contribution",
    "t36"."csat__contribution",
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
      "t35"."annual_purchases__raw",
      "t35"."annual_profit__raw",
      "t35"."product_lines__raw",
      "t35"."tenure__raw",
      "t35"."recency__raw",
      "t35"."contacts__raw",
      "t35"."nps_answer__raw",
      "t35"."csat__raw",
      "t35"."annual_purchases__missing",
      "t35"."annual_purchases__score",
      "t35"."annual_profit__missing",
      "t35"."annual_profit__score",
      "t35"."product_lines__missing",
      "t35"."product_lines__score",
      "t35"."tenure__missing",
      "t35"."tenure__score",
      "t35"."recency__missing",
      "t35"."recency__score",
      "t35"."contacts__missing",
      "t35"."contacts__score",
      "t35"."nps_answer__missing",
      "t35"."nps_answer__score",
      "t35"."csat__missing",
      "t35"."csat__score",
      "t35"."_p__annual_purchases",
      "t35"."_p__annual_profit",
      "t35"."_p__product_lines",
      "t35"."_p__tenure",
      "t35"."_p__recency",
      "t35"."_p__contacts",
      "t35"."_p__nps_answer",
      "t35"."_p__csat",
      "t35"."_w__value",
      "t35"."_n__value",
      "t35"."_w__depth",
      "t35"."_n__depth",
      "t35"."_w__activity",
      "t35"."_n__activity",
      "t35"."_w__satisfaction",
      "t35"."_n__satisfaction",
      "t35"."_d__value",
      "t35"."_d__depth",
      "t35"."_d__activity",
      "t35"."_d__satisfaction",
      "t35"."_total_w",
      "t35"."dim__value",
      "t35"."dim__depth",
      "t35"."dim__activity",
      "t35"."dim__satisfaction",
      "t35"."annual_purchases__weight",
      "t35"."annual_profit__weight",
      "t35"."product_lines__weight",
      "t35"."tenure__weight",
      "t35"."recency__weight",
      "t35"."contacts__weight",
      "t35"."nps_answer__weight",
      "t35"."csat__weight",
      (
        "t35"."annual_purchases__weight" * COALESCE("t35"."annual_purchases__score", 0)
      ) / 100.0 AS "annual_purchases__contribution",
      (
        "t35"."annual_profit__weight" * COALESCE("t35"."annual_profit__score", 0)
      ) / 100.0 AS "annual_profit__contribution",
      (
        "t35"."product_lines__weight" * COALESCE("t35"."product_lines__score", 0)
      ) / 100.0 AS "product_lines__contribution",
      (
        "t35"."tenure__weight" * COALESCE("t35"."tenure__score", 0)
      ) / 100.0 AS "tenure__contribution",
      (
        "t35"."recency__weight" * COALESCE("t35"."recency__score", 0)
      ) / 100.0 AS "recency__contribution",
      (
        "t35"."contacts__weight" * COALESCE("t35"."contacts__score", 0)
      ) / 100.0 AS "contacts__contribution",
      (
        "t35"."nps_answer__weight" * COALESCE("t35"."nps_answer__score", 0)
      ) / 100.0 AS "nps_answer__contribution",
      (
        "t35"."csat__weight" * COALESCE("t35"."csat__score", 0)
      ) / 100.0 AS "csat__contribution",
      (
        "t35"."annual_purchases__weight" + "t35"."annual_profit__weight" + "t35"."product_lines__weight" + "t35"."tenure__weight" + "t35"."recency__weight" + "t35"."contacts__weight" + "t35"."nps_answer__weight" + "t35"."csat__weight"
      ) > 0 AS "_any_w",
      (
        (
          "t35"."annual_purchases__weight" * COALESCE("t35"."annual_purchases__score", 0)
        ) / 100.0
      ) + (
        (
          "t35"."annual_profit__weight" * COALESCE("t35"."annual_profit__score", 0)
        ) / 100.0
      ) + (
        (
          "t35"."product_lines__weight" * COALESCE("t35"."product_lines__score", 0)
        ) / 100.0
      ) + (
        (
          "t35"."tenure__weight" * COALESCE("t35"."tenure__score", 0)
        ) / 100.0
      ) + (
        (
          "t35"."recency__weight" * COALESCE("t35"."recency__score", 0)
        ) / 100.0
      ) + (
        (
          "t35"."contacts__weight" * COALESCE("t35"."contacts__score", 0)
        ) / 100.0
      ) + (
        (
          "t35"."nps_answer__weight" * COALESCE("t35"."nps_answer__score", 0)
        ) / 100.0
      ) + (
        (
          "t35"."csat__weight" * COALESCE("t35"."csat__score", 0)
        ) / 100.0
      ) AS "_total",
      CAST(ROUND(
        CASE WHEN "t35"."annual_purchases__missing" THEN 0.0 ELSE 21.0 END + CASE WHEN "t35"."annual_profit__missing" THEN 0.0 ELSE 14.0 END + CASE WHEN "t35"."product_lines__missing" THEN 0.0 ELSE 12.5 END + CASE WHEN "t35"."tenure__missing" THEN 0.0 ELSE 12.5 END + CASE WHEN "t35"."recency__missing" THEN 0.0 ELSE 10.0 END + CASE WHEN "t35"."contacts__missing" THEN 0.0 ELSE 10.0 END + CASE WHEN "t35"."nps_answer__missing" THEN 0.0 ELSE 10.0 END + CASE WHEN "t35"."csat__missing" THEN 0.0 ELSE 10.0 END,
        6
      ) AS DOUBLE) AS "coverage"
    FROM (
      SELECT
        "t34"."customer_id",
        "t34"."owner",
        "t34"."segment",
        "t34"."annual_purchases__raw",
        "t34"."annual_profit__raw",
        "t34"."product_lines__raw",
        "t34"."tenure__raw",
        "t34"."recency__raw",
        "t34"."contacts__raw",
        "t34"."nps_answer__raw",
        "t34"."csat__raw",
        "t34"."annual_purchases__missing",
        "t34"."annual_purchases__score",
        "t34"."annual_profit__missing",
        "t34"."annual_profit__score",
        "t34"."product_lines__missing",
        "t34"."product_lines__score",
        "t34"."tenure__missing",
        "t34"."tenure__score",
        "t34"."recency__missing",
        "t34"."recency__score",
        "t34"."contacts__missing",
        "t34"."contacts__score",
        "t34"."nps_answer__missing",
        "t34"."nps_answer__score",
        "t34"."csat__missing",
        "t34"."csat__score",
        "t34"."_p__annual_purchases",
        "t34"."_p__annual_profit",
        "t34"."_p__product_lines",
        "t34"."_p__tenure",
        "t34"."_p__recency",
        "t34"."_p__contacts",
        "t34"."_p__nps_answer",
        "t34"."_p__csat",
        "t34"."_w__value",
        "t34"."_n__value",
        "t34"."_w__depth",
        "t34"."_n__depth",
        "t34"."_w__activity",
        "t34"."_n__activity",
        "t34"."_w__satisfaction",
        "t34"."_n__satisfaction",
        "t34"."_d__value",
        "t34"."_d__depth",
        "t34"."_d__activity",
        "t34"."_d__satisfaction",
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
            WHEN "t34"."_w__depth" > 0
            THEN "t34"."_n__depth" / "t34"."_w__depth"
            ELSE CAST(NULL AS DOUBLE)
          END,
          6
        ) AS DOUBLE) AS "dim__depth",
        CAST(ROUND(
          CASE
            WHEN "t34"."_w__activity" > 0
            THEN "t34"."_n__activity" / "t34"."_w__activity"
            ELSE CAST(NULL AS DOUBLE)
          END,
          6
        ) AS DOUBLE) AS "dim__activity",
        CAST(ROUND(
          CASE
            WHEN "t34"."_w__satisfaction" > 0
            THEN "t34"."_n__satisfaction" / "t34"."_w__satisfaction"
            ELSE CAST(NULL AS DOUBLE)
          END,
          6
        ) AS DOUBLE) AS "dim__satisfaction",
        CASE
          WHEN (
            "t34"."_total_w" > 0
          ) AND (
            "t34"."_w__value" > 0
          )
          THEN (
            (
              (
                "t34"."_d__value" / "t34"."_total_w"
              ) * "t34"."_p__annual_purchases"
            ) / "t34"."_w__value"
          ) * 100.0
          ELSE 0.0
        END AS "annual_purchases__weight", /* metric annual_purchases: weight 60 */
        CASE
          WHEN (
            "t34"."_total_w" > 0
          ) AND (
            "t34"."_w__value" > 0
          )
          THEN (
            (
              (
                "t34"."_d__value" / "t34"."_total_w"
              ) * "t34"."_p__annual_profit"
            ) / "t34"."_w__value"
          ) * 100.0
          ELSE 0.0
        END AS "annual_profit__weight", /* metric annual_profit: weight 40 */
        CASE
          WHEN (
            "t34"."_total_w" > 0
          ) AND (
            "t34"."_w__depth" > 0
          )
          THEN (
            (
              (
                "t34"."_d__depth" / "t34"."_total_w"
              ) * "t34"."_p__product_lines"
            ) / "t34"."_w__depth"
          ) * 100.0
          ELSE 0.0
        END AS "product_lines__weight", /* metric product_lines: weight 50 */
        CASE
          WHEN (
            "t34"."_total_w" > 0
          ) AND (
            "t34"."_w__depth" > 0
          )
          THEN (
            (
              (
                "t34"."_d__depth" / "t34"."_total_w"
              ) * "t34"."_p__tenure"
            ) / "t34"."_w__depth"
          ) * 100.0
          ELSE 0.0
        END AS "tenure__weight", /* metric tenure: weight 50 */
        CASE
          WHEN (
            "t34"."_total_w" > 0
          ) AND (
            "t34"."_w__activity" > 0
          )
          THEN (
            (
              (
                "t34"."_d__activity" / "t34"."_total_w"
              ) * "t34"."_p__recency"
            ) / "t34"."_w__activity"
          ) * 100.0
          ELSE 0.0
        END AS "recency__weight", /* metric recency: weight 50 */
        CASE
          WHEN (
            "t34"."_total_w" > 0
          ) AND (
            "t34"."_w__activity" > 0
          )
          THEN (
            (
              (
                "t34"."_d__activity" / "t34"."_total_w"
              ) * "t34"."_p__contacts"
            ) / "t34"."_w__activity"
          ) * 100.0
          ELSE 0.0
        END AS "contacts__weight", /* metric contacts: weight 50 */
        CASE
          WHEN (
            "t34"."_total_w" > 0
          ) AND (
            "t34"."_w__satisfaction" > 0
          )
          THEN (
            (
              (
                "t34"."_d__satisfaction" / "t34"."_total_w"
              ) * "t34"."_p__nps_answer"
            ) / "t34"."_w__satisfaction"
          ) * 100.0
          ELSE 0.0
        END AS "nps_answer__weight", /* metric nps_answer: weight 50 */
        CASE
          WHEN (
            "t34"."_total_w" > 0
          ) AND (
            "t34"."_w__satisfaction" > 0
          )
          THEN (
            (
              (
                "t34"."_d__satisfaction" / "t34"."_total_w"
              ) * "t34"."_p__csat"
            ) / "t34"."_w__satisfaction"
          ) * 100.0
          ELSE 0.0
        END AS "csat__weight" /* metric csat: weight 50 */
      FROM (
        SELECT
          "t33"."customer_id",
          "t33"."owner",
          "t33"."segment",
          "t33"."annual_purchases__raw",
          "t33"."annual_profit__raw",
          "t33"."product_lines__raw",
          "t33"."tenure__raw",
          "t33"."recency__raw",
          "t33"."contacts__raw",
          "t33"."nps_answer__raw",
          "t33"."csat__raw",
          "t33"."annual_purchases__missing",
          "t33"."annual_purchases__score",
          "t33"."annual_profit__missing",
          "t33"."annual_profit__score",
          "t33"."product_lines__missing",
          "t33"."product_lines__score",
          "t33"."tenure__missing",
          "t33"."tenure__score",
          "t33"."recency__missing",
          "t33"."recency__score",
          "t33"."contacts__missing",
          "t33"."contacts__score",
          "t33"."nps_answer__missing",
          "t33"."nps_answer__score",
          "t33"."csat__missing",
          "t33"."csat__score",
          "t33"."_p__annual_purchases",
          "t33"."_p__annual_profit",
          "t33"."_p__product_lines",
          "t33"."_p__tenure",
          "t33"."_p__recency",
          "t33"."_p__contacts",
          "t33"."_p__nps_answer",
          "t33"."_p__csat",
          "t33"."_p__annual_purchases" + "t33"."_p__annual_profit" AS "_w__value",
          (
            "t33"."_p__annual_purchases" * COALESCE("t33"."annual_purchases__score", 0)
          ) + (
            "t33"."_p__annual_profit" * COALESCE("t33"."annual_profit__score", 0)
          ) AS "_n__value",
          "t33"."_p__product_lines" + "t33"."_p__tenure" AS "_w__depth",
          (
            "t33"."_p__product_lines" * COALESCE("t33"."product_lines__score", 0)
          ) + (
            "t33"."_p__tenure" * COALESCE("t33"."tenure__score", 0)
          ) AS "_n__depth",
          "t33"."_p__recency" + "t33"."_p__contacts" AS "_w__activity",
          (
            "t33"."_p__recency" * COALESCE("t33"."recency__score", 0)
          ) + (
            "t33"."_p__contacts" * COALESCE("t33"."contacts__score", 0)
          ) AS "_n__activity",
          "t33"."_p__nps_answer" + "t33"."_p__csat" AS "_w__satisfaction",
          (
            "t33"."_p__nps_answer" * COALESCE("t33"."nps_answer__score", 0)
          ) + (
            "t33"."_p__csat" * COALESCE("t33"."csat__score", 0)
          ) AS "_n__satisfaction",
          CASE
            WHEN (
              "t33"."_p__annual_purchases" + "t33"."_p__annual_profit"
            ) > 0
            THEN 35.0
            ELSE 0.0
          END AS "_d__value",
          CASE
            WHEN (
              "t33"."_p__product_lines" + "t33"."_p__tenure"
            ) > 0
            THEN 25.0
            ELSE 0.0
          END AS "_d__depth",
          CASE
            WHEN (
              "t33"."_p__recency" + "t33"."_p__contacts"
            ) > 0
            THEN 20.0
            ELSE 0.0
          END AS "_d__activity",
          CASE WHEN (
            "t33"."_p__nps_answer" + "t33"."_p__csat"
          ) > 0 THEN 20.0 ELSE 0.0 END AS "_d__satisfaction",
          CASE
            WHEN (
              "t33"."_p__annual_purchases" + "t33"."_p__annual_profit"
            ) > 0
            THEN 35.0
            ELSE 0.0
          END + CASE
            WHEN (
              "t33"."_p__product_lines" + "t33"."_p__tenure"
            ) > 0
            THEN 25.0
            ELSE 0.0
          END + CASE
            WHEN (
              "t33"."_p__recency" + "t33"."_p__contacts"
            ) > 0
            THEN 20.0
            ELSE 0.0
          END + CASE WHEN (
            "t33"."_p__nps_answer" + "t33"."_p__csat"
          ) > 0 THEN 20.0 ELSE 0.0 END AS "_total_w"
        FROM (
          SELECT
            "t32"."customer_id",
            "t32"."owner",
            "t32"."segment",
            "t32"."annual_purchases__raw",
            "t32"."annual_profit__raw",
            "t32"."product_lines__raw",
            "t32"."tenure__raw",
            "t32"."recency__raw",
            "t32"."contacts__raw",
            "t32"."nps_answer__raw",
            "t32"."csat__raw",
            "t32"."annual_purchases__missing",
            "t32"."annual_purchases__score",
            "t32"."annual_profit__missing",
            "t32"."annual_profit__score",
            "t32"."product_lines__missing",
            "t32"."product_lines__score",
            "t32"."tenure__missing",
            "t32"."tenure__score",
            "t32"."recency__missing",
            "t32"."recency__score",
            "t32"."contacts__missing",
            "t32"."contacts__score",
            "t32"."nps_answer__missing",
            "t32"."nps_answer__score",
            "t32"."csat__missing",
            "t32"."csat__score",
            CASE WHEN "t32"."annual_purchases__score" IS NULL THEN 0.0 ELSE 60.0 END AS "_p__annual_purchases",
            CASE WHEN "t32"."annual_profit__score" IS NULL THEN 0.0 ELSE 40.0 END AS "_p__annual_profit",
            CASE WHEN "t32"."product_lines__score" IS NULL THEN 0.0 ELSE 50.0 END AS "_p__product_lines",
            CASE WHEN "t32"."tenure__score" IS NULL THEN 0.0 ELSE 50.0 END AS "_p__tenure",
            CASE WHEN "t32"."recency__score" IS NULL THEN 0.0 ELSE 50.0 END AS "_p__recency",
            CASE WHEN "t32"."contacts__score" IS NULL THEN 0.0 ELSE 50.0 END AS "_p__contacts",
            CASE WHEN "t32"."nps_answer__score" IS NULL THEN 0.0 ELSE 50.0 END AS "_p__nps_answer",
            CASE WHEN "t32"."csat__score" IS NULL THEN 0.0 ELSE 50.0 END AS "_p__csat"
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
    "t38"."annual_purchases__raw",
    "t38"."annual_profit__raw",
    "t38"."product_lines__raw",
    "t38"."tenure__raw",
    "t38"."recency__raw",
    "t38"."contacts__raw",
    "t38"."nps_answer__raw",
    "t38"."csat__raw",
    "t38"."annual_purchases__missing",
    "t38"."annual_purchases__score",
    "t38"."annual_profit__missing",
    "t38"."annual_profit__score",
    "t38"."product_lines__missing",
    "t38"."product_lines__score",
    "t38"."tenure__missing",
    "t38"."tenure__score",
    "t38"."recency__missing",
    "t38"."recency__score",
    "t38"."contacts__missing",
    "t38"."contacts__score",
    "t38"."nps_answer__missing",
    "t38"."nps_answer__score",
    "t38"."csat__missing",
    "t38"."csat__score",
    "t38"."_p__annual_purchases",
    "t38"."_p__annual_profit",
    "t38"."_p__product_lines",
    "t38"."_p__tenure",
    "t38"."_p__recency",
    "t38"."_p__contacts",
    "t38"."_p__nps_answer",
    "t38"."_p__csat",
    "t38"."_w__value",
    "t38"."_n__value",
    "t38"."_w__depth",
    "t38"."_n__depth",
    "t38"."_w__activity",
    "t38"."_n__activity",
    "t38"."_w__satisfaction",
    "t38"."_n__satisfaction",
    "t38"."_d__value",
    "t38"."_d__depth",
    "t38"."_d__activity",
    "t38"."_d__satisfaction",
    "t38"."_total_w",
    "t38"."dim__value",
    "t38"."dim__depth",
    "t38"."dim__activity",
    "t38"."dim__satisfaction",
    "t38"."annual_purchases__weight",
    "t38"."annual_profit__weight",
    "t38"."product_lines__weight",
    "t38"."tenure__weight",
    "t38"."recency__weight",
    "t38"."contacts__weight",
    "t38"."nps_answer__weight",
    "t38"."csat__weight",
    "t38"."annual_purchases__contribution",
    "t38"."annual_profit__contribution",
    "t38"."product_lines__contribution",
    "t38"."tenure__contribution",
    "t38"."recency__contribution",
    "t38"."contacts__contribution",
    "t38"."nps_answer__contribution",
    "t38"."csat__contribution",
    "t38"."_any_w",
    "t38"."_total",
    "t38"."coverage",
    "t38"."score",
    CASE
      WHEN "t38"."score" IS NULL
      THEN CAST(NULL AS TEXT)
      ELSE CASE
        WHEN "t38"."score" >= 85.0
        THEN 'core'
        WHEN "t38"."score" >= 68.0
        THEN 'potential'
        WHEN "t38"."score" >= 52.0
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
  "t40"."dim__depth",
  "t40"."dim__activity",
  "t40"."dim__satisfaction",
  "t40"."annual_purchases__raw",
  "t40"."annual_purchases__score",
  "t40"."annual_purchases__weight",
  "t40"."annual_purchases__contribution",
  "t40"."annual_purchases__missing",
  "t40"."annual_profit__raw",
  "t40"."annual_profit__score",
  "t40"."annual_profit__weight",
  "t40"."annual_profit__contribution",
  "t40"."annual_profit__missing",
  "t40"."product_lines__raw",
  "t40"."product_lines__score",
  "t40"."product_lines__weight",
  "t40"."product_lines__contribution",
  "t40"."product_lines__missing",
  "t40"."tenure__raw",
  "t40"."tenure__score",
  "t40"."tenure__weight",
  "t40"."tenure__contribution",
  "t40"."tenure__missing",
  "t40"."recency__raw",
  "t40"."recency__score",
  "t40"."recency__weight",
  "t40"."recency__contribution",
  "t40"."recency__missing",
  "t40"."contacts__raw",
  "t40"."contacts__score",
  "t40"."contacts__weight",
  "t40"."contacts__contribution",
  "t40"."contacts__missing",
  "t40"."nps_answer__raw",
  "t40"."nps_answer__score",
  "t40"."nps_answer__weight",
  "t40"."nps_answer__contribution",
  "t40"."nps_answer__missing",
  "t40"."csat__raw",
  "t40"."csat__score",
  "t40"."csat__weight",
  "t40"."csat__contribution",
  "t40"."csat__missing"
FROM "tiered" AS "t40"
ORDER BY
  "t40"."customer_id" ASC
