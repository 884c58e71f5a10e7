-- Latest version of each food-safety sampling result (key sample_no) with its resolved entity.
{{ resolved_latest('stg_food_safety__sampling_results', ['sample_no']) }}
