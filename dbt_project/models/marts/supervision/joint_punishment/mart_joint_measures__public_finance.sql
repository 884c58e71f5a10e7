{{ joint_measures_for('public_finance') }}
