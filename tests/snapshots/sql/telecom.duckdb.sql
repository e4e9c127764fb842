WITH "active_customers" AS (
  /* step active_customers: customers that existed at as_of and had not churned by then */
  SELECT
    "t0"."customer_id",
    MAKE_TIMESTAMP(2024, 6, 30, 0, 0, 0.0) - TO_MONTHS(CAST(FLOOR("t0"."tenure") AS BIGINT)) AS "created_at",
    "t0"."owner",
    "t0"."segment",
    "t0"."Contract",
    "t0"."MonthlyCharges",
    "t0"."PaymentMethod",
    CASE
      WHEN COALESCE(
        LOWER(TRIM("t0"."PhoneService", ' 	
\r\v\f')) IN ('true', 't', 'yes', 'y', '1', '是', '真'),
        FALSE
      )
      THEN 1
      ELSE 0
    END + CASE
      WHEN COALESCE(
        LOWER(TRIM("t0"."MultipleLines", ' 	
\r\v\f')) IN ('true', 't', 'yes', 'y', '1', '是', '真'),
        FALSE
      )
      THEN 1
      ELSE 0
    END + CASE
      WHEN COALESCE(
        LOWER(TRIM("t0"."OnlineSecurity", ' 	
\r\v\f')) IN ('true', 't', 'yes', 'y', '1', '是', '真'),
        FALSE
      )
      THEN 1
      ELSE 0
    END + CASE
      WHEN COALESCE(
        LOWER(TRIM("t0"."OnlineBackup", ' 	
\r\v\f')) IN ('true', 't', 'yes', 'y', '1', '是', '真'),
        FALSE
      )
      THEN 1
      ELSE 0
    END + CASE
      WHEN COALESCE(
        LOWER(TRIM("t0"."DeviceProtection", ' 	
\r\v\f')) IN ('true', 't', 'yes', 'y', '1', '是', '真'),
        FALSE
      )
      THEN 1
      ELSE 0
    END + CASE
      WHEN COALESCE(
        LOWER(TRIM("t0"."TechSupport", ' 	
\r\v\f')) IN ('true', 't', 'yes', 'y', '1', '是', '真'),
        FALSE
      )
      THEN 1
      ELSE 0
    END + CASE
      WHEN COALESCE(
        LOWER(TRIM("t0"."StreamingTV", ' 	
\r\v\f')) IN ('true', 't', 'yes', 'y', '1', '是', '真'),
        FALSE
      )
      THEN 1
      ELSE 0
    END + CASE
      WHEN COALESCE(
        LOWER(TRIM("t0"."StreamingMovies", ' 	
\r\v\f')) IN ('true', 't', 'yes', 'y', '1', '是', '真'),
        FALSE
      )
      THEN 1
      ELSE 0
    END AS "services"
  FROM "customers" AS "t0"
  WHERE
    (
      (
        (
          MAKE_TIMESTAMP(2024, 6, 30, 0, 0, 0.0) - TO_MONTHS(CAST(FLOOR("t0"."tenure") AS BIGINT))
        ) IS NULL
      )
      OR (
        CAST(MAKE_TIMESTAMP(2024, 6, 30, 0, 0, 0.0) - TO_MONTHS(CAST(FLOOR("t0"."tenure") AS BIGINT)) AS DATE) <= MAKE_DATE(2024, 6, 30)
      )
    )
    AND (
      (
        "t0"."churned_at" IS NULL
      )
      OR (
        CAST("t0"."churned_at" AS DATE) > MAKE_DATE(2024, 6, 30)
      )
    )
), "raw" AS (
  /* step raw: each metric's raw value per customer */
  SELECT
    "t2"."customer_id",
    "t2"."owner",
    "t2"."segment",
    CAST(ROUND(
      CAST(DATE_DIFF('DAY', CAST("t2"."created_at" AS DATE), MAKE_DATE(2024, 6, 30)) AS DOUBLE),
      9
    ) AS DOUBLE) AS "tenure__raw", /* metric tenure: customers tenure_days(), all history */
    "t2"."Contract" AS "contract__raw", /* metric contract: customers attribute(Contract), all history */
    "t2"."services" AS "services__raw", /* metric services: customers attribute(services), all history */
    "t2"."PaymentMethod" AS "payment__raw", /* metric payment: customers attribute(PaymentMethod), all history */
    "t2"."MonthlyCharges" AS "monthly_charges__raw" /* metric monthly_charges: customers attribute(MonthlyCharges), all history */
  FROM "active_customers" AS "t2"
), "normalised" AS (
  /* step normalised: raw values mapped onto 0..100 */
  SELECT
    "t4"."customer_id",
    "t4"."owner",
    "t4"."segment",
    "t4"."tenure__raw",
    "t4"."contract__raw",
    "t4"."services__raw",
    "t4"."payment__raw",
    "t4"."monthly_charges__raw",
    CASE
      WHEN CASE
        WHEN (
          (
            (
              "t4"."tenure__raw" - 0.0
            ) / 1825.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            "t4"."tenure__raw" - 0.0
          ) / 1825.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            "t4"."tenure__raw" - 0.0
          ) / 1825.0
        ) * 100.0)
      END IS NULL
      THEN CASE
        WHEN (
          (
            (
              "t4"."tenure__raw" - 0.0
            ) / 1825.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            "t4"."tenure__raw" - 0.0
          ) / 1825.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            "t4"."tenure__raw" - 0.0
          ) / 1825.0
        ) * 100.0)
      END
      ELSE GREATEST(
        0.0,
        CASE
          WHEN (
            (
              (
                "t4"."tenure__raw" - 0.0
              ) / 1825.0
            ) * 100.0
          ) IS NULL
          THEN (
            (
              "t4"."tenure__raw" - 0.0
            ) / 1825.0
          ) * 100.0
          ELSE LEAST(100.0, (
            (
              "t4"."tenure__raw" - 0.0
            ) / 1825.0
          ) * 100.0)
        END
      )
    END AS "tenure__norm", /* metric tenure: normalise range min=0 max=1825 direction=higher */
    CASE
      WHEN "t4"."contract__raw" IS NULL
      THEN CAST(NULL AS DOUBLE)
      ELSE CASE
        WHEN CASE
          WHEN CASE
            WHEN "t4"."contract__raw" = 'Month-to-month'
            THEN 0.0
            WHEN "t4"."contract__raw" = 'One year'
            THEN 50.0
            WHEN "t4"."contract__raw" = 'Two year'
            THEN 100.0
            ELSE CAST(NULL AS DOUBLE)
          END IS NULL
          THEN CASE
            WHEN "t4"."contract__raw" = 'Month-to-month'
            THEN 0.0
            WHEN "t4"."contract__raw" = 'One year'
            THEN 50.0
            WHEN "t4"."contract__raw" = 'Two year'
            THEN 100.0
            ELSE CAST(NULL AS DOUBLE)
          END
          ELSE LEAST(
            100.0,
            CASE
              WHEN "t4"."contract__raw" = 'Month-to-month'
              THEN 0.0
              WHEN "t4"."contract__raw" = 'One year'
              THEN 50.0
              WHEN "t4"."contract__raw" = 'Two year'
              THEN 100.0
              ELSE CAST(NULL AS DOUBLE)
            END
          )
        END IS NULL
        THEN CASE
          WHEN CASE
            WHEN "t4"."contract__raw" = 'Month-to-month'
            THEN 0.0
            WHEN "t4"."contract__raw" = 'One year'
            THEN 50.0
            WHEN "t4"."contract__raw" = 'Two year'
            THEN 100.0
            ELSE CAST(NULL AS DOUBLE)
          END IS NULL
          THEN CASE
            WHEN "t4"."contract__raw" = 'Month-to-month'
            THEN 0.0
            WHEN "t4"."contract__raw" = 'One year'
            THEN 50.0
            WHEN "t4"."contract__raw" = 'Two year'
            THEN 100.0
            ELSE CAST(NULL AS DOUBLE)
          END
          ELSE LEAST(
            100.0,
            CASE
              WHEN "t4"."contract__raw" = 'Month-to-month'
              THEN 0.0
              WHEN "t4"."contract__raw" = 'One year'
              THEN 50.0
              WHEN "t4"."contract__raw" = 'Two year'
              THEN 100.0
              ELSE CAST(NULL AS DOUBLE)
            END
          )
        END
        ELSE GREATEST(
          0.0,
          CASE
            WHEN CASE
              WHEN "t4"."contract__raw" = 'Month-to-month'
              THEN 0.0
              WHEN "t4"."contract__raw" = 'One year'
              THEN 50.0
              WHEN "t4"."contract__raw" = 'Two year'
              THEN 100.0
              ELSE CAST(NULL AS DOUBLE)
            END IS NULL
            THEN CASE
              WHEN "t4"."contract__raw" = 'Month-to-month'
              THEN 0.0
              WHEN "t4"."contract__raw" = 'One year'
              THEN 50.0
              WHEN "t4"."contract__raw" = 'Two year'
              THEN 100.0
              ELSE CAST(NULL AS DOUBLE)
            END
            ELSE LEAST(
              100.0,
              CASE
                WHEN "t4"."contract__raw" = 'Month-to-month'
                THEN 0.0
                WHEN "t4"."contract__raw" = 'One year'
                THEN 50.0
                WHEN "t4"."contract__raw" = 'Two year'
                THEN 100.0
                ELSE CAST(NULL AS DOUBLE)
              END
            )
          END
        )
      END
    END AS "contract__norm", /* metric contract: normalise map values={"Month-to-month":0.0,"One year":50.0,"Two year":100.0} */
    CASE
      WHEN CASE
        WHEN (
          (
            (
              CAST("t4"."services__raw" AS DOUBLE) - 0.0
            ) / 8.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            CAST("t4"."services__raw" AS DOUBLE) - 0.0
          ) / 8.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            CAST("t4"."services__raw" AS DOUBLE) - 0.0
          ) / 8.0
        ) * 100.0)
      END IS NULL
      THEN CASE
        WHEN (
          (
            (
              CAST("t4"."services__raw" AS DOUBLE) - 0.0
            ) / 8.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            CAST("t4"."services__raw" AS DOUBLE) - 0.0
          ) / 8.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            CAST("t4"."services__raw" AS DOUBLE) - 0.0
          ) / 8.0
        ) * 100.0)
      END
      ELSE GREATEST(
        0.0,
        CASE
          WHEN (
            (
              (
                CAST("t4"."services__raw" AS DOUBLE) - 0.0
              ) / 8.0
            ) * 100.0
          ) IS NULL
          THEN (
            (
              CAST("t4"."services__raw" AS DOUBLE) - 0.0
            ) / 8.0
          ) * 100.0
          ELSE LEAST(100.0, (
            (
              CAST("t4"."services__raw" AS DOUBLE) - 0.0
            ) / 8.0
          ) * 100.0)
        END
      )
    END AS "services__norm", /* metric services: normalise range min=0 max=8 direction=higher */
    CASE
      WHEN "t4"."payment__raw" IS NULL
      THEN CAST(NULL AS DOUBLE)
      ELSE CASE
        WHEN CASE
          WHEN CASE
            WHEN "t4"."payment__raw" = 'Bank transfer (automatic)'
            THEN 100.0
            WHEN "t4"."payment__raw" = 'Credit card (automatic)'
            THEN 100.0
            WHEN "t4"."payment__raw" = 'Electronic check'
            THEN 0.0
            WHEN "t4"."payment__raw" = 'Mailed check'
            THEN 0.0
            ELSE CAST(NULL AS DOUBLE)
          END IS NULL
          THEN CASE
            WHEN "t4"."payment__raw" = 'Bank transfer (automatic)'
            THEN 100.0
            WHEN "t4"."payment__raw" = 'Credit card (automatic)'
            THEN 100.0
            WHEN "t4"."payment__raw" = 'Electronic check'
            THEN 0.0
            WHEN "t4"."payment__raw" = 'Mailed check'
            THEN 0.0
            ELSE CAST(NULL AS DOUBLE)
          END
          ELSE LEAST(
            100.0,
            CASE
              WHEN "t4"."payment__raw" = 'Bank transfer (automatic)'
              THEN 100.0
              WHEN "t4"."payment__raw" = 'Credit card (automatic)'
              THEN 100.0
              WHEN "t4"."payment__raw" = 'Electronic check'
              THEN 0.0
              WHEN "t4"."payment__raw" = 'Mailed check'
              THEN 0.0
              ELSE CAST(NULL AS DOUBLE)
            END
          )
        END IS NULL
        THEN CASE
          WHEN CASE
            WHEN "t4"."payment__raw" = 'Bank transfer (automatic)'
            THEN 100.0
            WHEN "t4"."payment__raw" = 'Credit card (automatic)'
            THEN 100.0
            WHEN "t4"."payment__raw" = 'Electronic check'
            THEN 0.0
            WHEN "t4"."payment__raw" = 'Mailed check'
            THEN 0.0
            ELSE CAST(NULL AS DOUBLE)
          END IS NULL
          THEN CASE
            WHEN "t4"."payment__raw" = 'Bank transfer (automatic)'
            THEN 100.0
            WHEN "t4"."payment__raw" = 'Credit card (automatic)'
            THEN 100.0
            WHEN "t4"."payment__raw" = 'Electronic check'
            THEN 0.0
            WHEN "t4"."payment__raw" = 'Mailed check'
            THEN 0.0
            ELSE CAST(NULL AS DOUBLE)
          END
          ELSE LEAST(
            100.0,
            CASE
              WHEN "t4"."payment__raw" = 'Bank transfer (automatic)'
              THEN 100.0
              WHEN "t4"."payment__raw" = 'Credit card (automatic)'
              THEN 100.0
              WHEN "t4"."payment__raw" = 'Electronic check'
              THEN 0.0
              WHEN "t4"."payment__raw" = 'Mailed check'
              THEN 0.0
              ELSE CAST(NULL AS DOUBLE)
            END
          )
        END
        ELSE GREATEST(
          0.0,
          CASE
            WHEN CASE
              WHEN "t4"."payment__raw" = 'Bank transfer (automatic)'
              THEN 100.0
              WHEN "t4"."payment__raw" = 'Credit card (automatic)'
              THEN 100.0
              WHEN "t4"."payment__raw" = 'Electronic check'
              THEN 0.0
              WHEN "t4"."payment__raw" = 'Mailed check'
              THEN 0.0
              ELSE CAST(NULL AS DOUBLE)
            END IS NULL
            THEN CASE
              WHEN "t4"."payment__raw" = 'Bank transfer (automatic)'
              THEN 100.0
              WHEN "t4"."payment__raw" = 'Credit card (automatic)'
              THEN 100.0
              WHEN "t4"."payment__raw" = 'Electronic check'
              THEN 0.0
              WHEN "t4"."payment__raw" = 'Mailed check'
              THEN 0.0
              ELSE CAST(NULL AS DOUBLE)
            END
            ELSE LEAST(
              100.0,
              CASE
                WHEN "t4"."payment__raw" = 'Bank transfer (automatic)'
                THEN 100.0
                WHEN "t4"."payment__raw" = 'Credit card (automatic)'
                THEN 100.0
                WHEN "t4"."payment__raw" = 'Electronic check'
                THEN 0.0
                WHEN "t4"."payment__raw" = 'Mailed check'
                THEN 0.0
                ELSE CAST(NULL AS DOUBLE)
              END
            )
          END
        )
      END
    END AS "payment__norm", /* metric payment: normalise map values={"Bank transfer (automatic)":100.0,"Credit card (automatic)":100.0,"Electronic check":0.0,"Mailed check":0.0} */
    CASE
      WHEN CASE
        WHEN (
          (
            (
              "t4"."monthly_charges__raw" - 20.0
            ) / 100.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            "t4"."monthly_charges__raw" - 20.0
          ) / 100.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            "t4"."monthly_charges__raw" - 20.0
          ) / 100.0
        ) * 100.0)
      END IS NULL
      THEN CASE
        WHEN (
          (
            (
              "t4"."monthly_charges__raw" - 20.0
            ) / 100.0
          ) * 100.0
        ) IS NULL
        THEN (
          (
            "t4"."monthly_charges__raw" - 20.0
          ) / 100.0
        ) * 100.0
        ELSE LEAST(100.0, (
          (
            "t4"."monthly_charges__raw" - 20.0
          ) / 100.0
        ) * 100.0)
      END
      ELSE GREATEST(
        0.0,
        CASE
          WHEN (
            (
              (
                "t4"."monthly_charges__raw" - 20.0
              ) / 100.0
            ) * 100.0
          ) IS NULL
          THEN (
            (
              "t4"."monthly_charges__raw" - 20.0
            ) / 100.0
          ) * 100.0
          ELSE LEAST(100.0, (
            (
              "t4"."monthly_charges__raw" - 20.0
            ) / 100.0
          ) * 100.0)
        END
      )
    END AS "monthly_charges__norm" /* metric monthly_charges: normalise range min=20 max=120 direction=higher */
  FROM "raw" AS "t4"
), "scored" AS (
  /* step scored: the missing-value policies */
  SELECT
    "t6"."customer_id",
    "t6"."owner",
    "t6"."segment",
    "t6"."tenure__raw",
    "t6"."contract__raw",
    "t6"."services__raw",
    "t6"."payment__raw",
    "t6"."monthly_charges__raw",
    "t6"."tenure__norm" IS NULL AS "tenure__missing",
    "t6"."tenure__norm" AS "tenure__score", /* metric tenure: missing -> reweight */
    "t6"."contract__norm" IS NULL AS "contract__missing",
    "t6"."contract__norm" AS "contract__score", /* metric contract: missing -> reweight */
    "t6"."services__norm" IS NULL AS "services__missing",
    "t6"."services__norm" AS "services__score", /* metric services: missing -> reweight */
    "t6"."payment__norm" IS NULL AS "payment__missing",
    "t6"."payment__norm" AS "payment__score", /* metric payment: missing -> reweight */
    "t6"."monthly_charges__norm" IS NULL AS "monthly_charges__missing",
    "t6"."monthly_charges__norm" AS "monthly_charges__score" /* metric monthly_charges: missing -> reweight */
  FROM "normalised" AS "t6"
), "weighted" AS (
  /* step weighted: weights, dimension scores, contributions, total and coverage */
  SELECT
    "t12"."customer_id",
    "t12"."owner",
    "t12"."segment",
    "t12"."tenure__raw",
    "t12"."contract__raw",
    "t12"."services__raw",
    "t12"."payment__raw",
    "t12"."monthly_charges__raw",
    "t12"."tenure__missing",
    "t12"."tenure__score",
    "t12"."contract__missing",
    "t12"."contract__score",
    "t12"."services__missing",
    "t12"."services__score",
    "t12"."payment__missing",
    "t12"."payment__score",
    "t12"."monthly_charges__missing",
    "t12"."monthly_charges__score",
    "t12"."_p__tenure",
    "t12"."_p__contract",
    "t12"."_p__services",
    "t12"."_p__payment",
    "t12"."_p__monthly_charges",
    "t12"."_w__loyalty",
    "t12"."_n__loyalty",
    "t12"."_w__engagement",
    "t12"."_n__engagement",
    "t12"."_d__loyalty",
    "t12"."_d__engagement",
    "t12"."_total_w",
    "t12"."dim__loyalty",
    "t12"."dim__engagement",
    "t12"."tenure__weight",
    "t12"."contract__weight",
    "t12"."services__weight",
    "t12"."payment__weight",
    "t12"."monthly_charges__weight",
    "t12"."tenure__contribution",
    "t12"."contract__contribution",
    "t12"."services__contribution",
    "t12"."payment__contribution",
    "t12"."monthly_charges__contribution",
    "t12"."_any_w",
    "t12"."_total",
    "t12"."coverage",
    CASE
      WHEN "t12"."_any_w"
      THEN CAST(ROUND(
        CASE
          WHEN CASE
            WHEN "t12"."_total" IS NULL
            THEN "t12"."_total"
            ELSE LEAST(100.0, "t12"."_total")
          END IS NULL
          THEN CASE
            WHEN "t12"."_total" IS NULL
            THEN "t12"."_total"
            ELSE LEAST(100.0, "t12"."_total")
          END
          ELSE GREATEST(
            0.0,
            CASE
              WHEN "t12"."_total" IS NULL
              THEN "t12"."_total"
              ELSE LEAST(100.0, "t12"."_total")
            END
          )
        END,
        6
      ) AS DOUBLE)
      ELSE CAST(NULL AS DOUBLE)
    END AS "score"
  FROM (
    SELECT
      "t11"."customer_id",
      "t11"."owner",
      "t11"."segment",
      "t11"."tenure__raw",
      "t11"."contract__raw",
      "t11"."services__raw",
      "t11"."payment__raw",
      "t11"."monthly_charges__raw",
      "t11"."tenure__missing",
      "t11"."tenure__score",
      "t11"."contract__missing",
      "t11"."contract__score",
      "t11"."services__missing",
      "t11"."services__score",
      "t11"."payment__missing",
      "t11"."payment__score",
      "t11"."monthly_charges__missing",
      "t11"."monthly_charges__score",
      "t11"."_p__tenure",
      "t11"."_p__contract",
      "t11"."_p__services",
      "t11"."_p__payment",
      "t11"."_p__monthly_charges",
      "t11"."_w__loyalty",
      "t11"."_n__loyalty",
      "t11"."_w__engagement",
      "t11"."_n__engagement",
      "t11"."_d__loyalty",
      "t11"."_d__engagement",
      "t11"."_total_w",
      "t11"."dim__loyalty",
      "t11"."dim__engagement",
      "t11"."tenure__weight",
      "t11"."contract__weight",
      "t11"."services__weight",
      "t11"."payment__weight",
      "t11"."monthly_charges__weight",
      (
        "t11"."tenure__weight" * COALESCE("t11"."tenure__score", 0)
      ) / 100.0 AS "tenure__contribution",
      (
        "t11"."contract__weight" * COALESCE("t11"."contract__score", 0)
      ) / 100.0 AS "contract__contribution",
      (
        "t11"."services__weight" * COALESCE("t11"."services__score", 0)
      ) / 100.0 AS "services__contribution",
      (
        "t11"."payment__weight" * COALESCE("t11"."payment__score", 0)
      ) / 100.0 AS "payment__contribution",
      (
        "t11"."monthly_charges__weight" * COALESCE("t11"."monthly_charges__score", 0)
      ) / 100.0 AS "monthly_charges__contribution",
      (
        "t11"."tenure__weight" + "t11"."contract__weight" + "t11"."services__weight" + "t11"."payment__weight" + "t11"."monthly_charges__weight"
      ) > 0 AS "_any_w",
      (
        (
          "t11"."tenure__weight" * COALESCE("t11"."tenure__score", 0)
        ) / 100.0
      ) + (
        (
          "t11"."contract__weight" * COALESCE("t11"."contract__score", 0)
        ) / 100.0
      ) + (
        (
          "t11"."services__weight" * COALESCE("t11"."services__score", 0)
        ) / 100.0
      ) + (
        (
          "t11"."payment__weight" * COALESCE("t11"."payment__score", 0)
        ) / 100.0
      ) + (
        (
          "t11"."monthly_charges__weight" * COALESCE("t11"."monthly_charges__score", 0)
        ) / 100.0
      ) AS "_total",
      CAST(ROUND(
        CASE WHEN "t11"."tenure__missing" THEN 0.0 ELSE 30.0 END + CASE WHEN "t11"."contract__missing" THEN 0.0 ELSE 20.0 END + CASE WHEN "t11"."services__missing" THEN 0.0 ELSE 25.0 END + CASE WHEN "t11"."payment__missing" THEN 0.0 ELSE 12.5 END + CASE WHEN "t11"."monthly_charges__missing" THEN 0.0 ELSE 12.5 END,
        6
      ) AS DOUBLE) AS "coverage"
    FROM (
      SELECT
        "t10"."customer_id",
        "t10"."owner",
        "t10"."segment",
        "t10"."tenure__raw",
        "t10"."contract__raw",
        "t10"."services__raw",
        "t10"."payment__raw",
        "t10"."monthly_charges__raw",
        "t10"."tenure__missing",
        "t10"."tenure__score",
        "t10"."contract__missing",
        "t10"."contract__score",
        "t10"."services__missing",
        "t10"."services__score",
        "t10"."payment__missing",
        "t10"."payment__score",
        "t10"."monthly_charges__missing",
        "t10"."monthly_charges__score",
        "t10"."_p__tenure",
        "t10"."_p__contract",
        "t10"."_p__services",
        "t10"."_p__payment",
        "t10"."_p__monthly_charges",
        "t10"."_w__loyalty",
        "t10"."_n__loyalty",
        "t10"."_w__engagement",
        "t10"."_n__engagement",
        "t10"."_d__loyalty",
        "t10"."_d__engagement",
        "t10"."_total_w",
        CAST(ROUND(
          CASE
            WHEN "t10"."_w__loyalty" > 0
            THEN "t10"."_n__loyalty" / "t10"."_w__loyalty"
            ELSE CAST(NULL AS DOUBLE)
          END,
          6
        ) AS DOUBLE) AS "dim__loyalty",
        CAST(ROUND(
          CASE
            WHEN "t10"."_w__engagement" > 0
            THEN "t10"."_n__engagement" / "t10"."_w__engagement"
            ELSE CAST(NULL AS DOUBLE)
          END,
          6
        ) AS DOUBLE) AS "dim__engagement",
        CASE
          WHEN (
            "t10"."_total_w" > 0
          ) AND (
            "t10"."_w__loyalty" > 0
          )
          THEN (
            (
              (
                "t10"."_d__loyalty" / "t10"."_total_w"
              ) * "t10"."_p__tenure"
            ) / "t10"."_w__loyalty"
          ) * 100.0
          ELSE 0.0
        END AS "tenure__weight", /* metric tenure: weight 60 */
        CASE
          WHEN (
            "t10"."_total_w" > 0
          ) AND (
            "t10"."_w__loyalty" > 0
          )
          THEN (
            (
              (
                "t10"."_d__loyalty" / "t10"."_total_w"
              ) * "t10"."_p__contract"
            ) / "t10"."_w__loyalty"
          ) * 100.0
          ELSE 0.0
        END AS "contract__weight", /* metric contract: weight 40 */
        CASE
          WHEN (
            "t10"."_total_w" > 0
          ) AND (
            "t10"."_w__engagement" > 0
          )
          THEN (
            (
              (
                "t10"."_d__engagement" / "t10"."_total_w"
              ) * "t10"."_p__services"
            ) / "t10"."_w__engagement"
          ) * 100.0
          ELSE 0.0
        END AS "services__weight", /* metric services: weight 50 */
        CASE
          WHEN (
            "t10"."_total_w" > 0
          ) AND (
            "t10"."_w__engagement" > 0
          )
          THEN (
            (
              (
                "t10"."_d__engagement" / "t10"."_total_w"
              ) * "t10"."_p__payment"
            ) / "t10"."_w__engagement"
          ) * 100.0
          ELSE 0.0
        END AS "payment__weight", /* metric payment: weight 25 */
        CASE
          WHEN (
            "t10"."_total_w" > 0
          ) AND (
            "t10"."_w__engagement" > 0
          )
          THEN (
            (
              (
                "t10"."_d__engagement" / "t10"."_total_w"
              ) * "t10"."_p__monthly_charges"
            ) / "t10"."_w__engagement"
          ) * 100.0
          ELSE 0.0
        END AS "monthly_charges__weight" /* metric monthly_charges: weight 25 */
      FROM (
        SELECT
          "t9"."customer_id",
          "t9"."owner",
          "t9"."segment",
          "t9"."tenure__raw",
          "t9"."contract__raw",
          "t9"."services__raw",
          "t9"."payment__raw",
          "t9"."monthly_charges__raw",
          "t9"."tenure__missing",
          "t9"."tenure__score",
          "t9"."contract__missing",
          "t9"."contract__score",
          "t9"."services__missing",
          "t9"."services__score",
          "t9"."payment__missing",
          "t9"."payment__score",
          "t9"."monthly_charges__missing",
          "t9"."monthly_charges__score",
          "t9"."_p__tenure",
          "t9"."_p__contract",
          "t9"."_p__services",
          "t9"."_p__payment",
          "t9"."_p__monthly_charges",
          "t9"."_p__tenure" + "t9"."_p__contract" AS "_w__loyalty",
          (
            "t9"."_p__tenure" * COALESCE("t9"."tenure__score", 0)
          ) + (
            "t9"."_p__contract" * COALESCE("t9"."contract__score", 0)
          ) AS "_n__loyalty",
          "t9"."_p__services" + "t9"."_p__payment" + "t9"."_p__monthly_charges" AS "_w__engagement",
          (
            "t9"."_p__services" * COALESCE("t9"."services__score", 0)
          ) + (
            "t9"."_p__payment" * COALESCE("t9"."payment__score", 0)
          ) + (
            "t9"."_p__monthly_charges" * COALESCE("t9"."monthly_charges__score", 0)
          ) AS "_n__engagement",
          CASE WHEN (
            "t9"."_p__tenure" + "t9"."_p__contract"
          ) > 0 THEN 50.0 ELSE 0.0 END AS "_d__loyalty",
          CASE
            WHEN (
              "t9"."_p__services" + "t9"."_p__payment" + "t9"."_p__monthly_charges"
            ) > 0
            THEN 50.0
            ELSE 0.0
          END AS "_d__engagement",
          CASE WHEN (
            "t9"."_p__tenure" + "t9"."_p__contract"
          ) > 0 THEN 50.0 ELSE 0.0 END + CASE
            WHEN (
              "t9"."_p__services" + "t9"."_p__payment" + "t9"."_p__monthly_charges"
            ) > 0
            THEN 50.0
            ELSE 0.0
          END AS "_total_w"
        FROM (
          SELECT
            "t8"."customer_id",
            "t8"."owner",
            "t8"."segment",
            "t8"."tenure__raw",
            "t8"."contract__raw",
            "t8"."services__raw",
            "t8"."payment__raw",
            "t8"."monthly_charges__raw",
            "t8"."tenure__missing",
            "t8"."tenure__score",
            "t8"."contract__missing",
            "t8"."contract__score",
            "t8"."services__missing",
            "t8"."services__score",
            "t8"."payment__missing",
            "t8"."payment__score",
            "t8"."monthly_charges__missing",
            "t8"."monthly_charges__score",
            CASE WHEN "t8"."tenure__score" IS NULL THEN 0.0 ELSE 60.0 END AS "_p__tenure",
            CASE WHEN "t8"."contract__score" IS NULL THEN 0.0 ELSE 40.0 END AS "_p__contract",
            CASE WHEN "t8"."services__score" IS NULL THEN 0.0 ELSE 50.0 END AS "_p__services",
            CASE WHEN "t8"."payment__score" IS NULL THEN 0.0 ELSE 25.0 END AS "_p__payment",
            CASE WHEN "t8"."monthly_charges__score" IS NULL THEN 0.0 ELSE 25.0 END AS "_p__monthly_charges"
          FROM "scored" AS "t8"
        ) AS "t9"
      ) AS "t10"
    ) AS "t11"
  ) AS "t12"
), "tiered" AS (
  /* step tiered: tiers by score */
  SELECT
    "t14"."customer_id",
    "t14"."owner",
    "t14"."segment",
    "t14"."tenure__raw",
    "t14"."contract__raw",
    "t14"."services__raw",
    "t14"."payment__raw",
    "t14"."monthly_charges__raw",
    "t14"."tenure__missing",
    "t14"."tenure__score",
    "t14"."contract__missing",
    "t14"."contract__score",
    "t14"."services__missing",
    "t14"."services__score",
    "t14"."payment__missing",
    "t14"."payment__score",
    "t14"."monthly_charges__missing",
    "t14"."monthly_charges__score",
    "t14"."_p__tenure",
    "t14"."_p__contract",
    "t14"."_p__services",
    "t14"."_p__payment",
    "t14"."_p__monthly_charges",
    "t14"."_w__loyalty",
    "t14"."_n__loyalty",
    "t14"."_w__engagement",
    "t14"."_n__engagement",
    "t14"."_d__loyalty",
    "t14"."_d__engagement",
    "t14"."_total_w",
    "t14"."dim__loyalty",
    "t14"."dim__engagement",
    "t14"."tenure__weight",
    "t14"."contract__weight",
    "t14"."services__weight",
    "t14"."payment__weight",
    "t14"."monthly_charges__weight",
    "t14"."tenure__contribution",
    "t14"."contract__contribution",
    "t14"."services__contribution",
    "t14"."payment__contribution",
    "t14"."monthly_charges__contribution",
    "t14"."_any_w",
    "t14"."_total",
    "t14"."coverage",
    "t14"."score",
    CASE
      WHEN "t14"."score" IS NULL
      THEN CAST(NULL AS TEXT)
      ELSE CASE
        WHEN "t14"."score" >= 90.0
        THEN 'core'
        WHEN "t14"."score" >= 70.0
        THEN 'potential'
        WHEN "t14"."score" >= 50.0
        THEN 'ordinary'
        ELSE 'at_risk'
      END
    END AS "tier"
  FROM "weighted" AS "t14"
)
SELECT
  "t16"."customer_id",
  "t16"."score",
  "t16"."tier",
  "t16"."coverage",
  "t16"."owner",
  "t16"."segment",
  "t16"."dim__loyalty",
  "t16"."dim__engagement",
  "t16"."tenure__raw",
  "t16"."tenure__score",
  "t16"."tenure__weight",
  "t16"."tenure__contribution",
  "t16"."tenure__missing",
  "t16"."contract__raw",
  "t16"."contract__score",
  "t16"."contract__weight",
  "t16"."contract__contribution",
  "t16"."contract__missing",
  "t16"."services__raw",
  "t16"."services__score",
  "t16"."services__weight",
  "t16"."services__contribution",
  "t16"."services__missing",
  "t16"."payment__raw",
  "t16"."payment__score",
  "t16"."payment__weight",
  "t16"."payment__contribution",
  "t16"."payment__missing",
  "t16"."monthly_charges__raw",
  "t16"."monthly_charges__score",
  "t16"."monthly_charges__weight",
  "t16"."monthly_charges__contribution",
  "t16"."monthly_charges__missing"
FROM "tiered" AS "t16"
ORDER BY
  "t16"."customer_id" ASC
