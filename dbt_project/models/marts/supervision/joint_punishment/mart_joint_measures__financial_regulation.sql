{{ joint_measures_for('financial_regulation') }}
