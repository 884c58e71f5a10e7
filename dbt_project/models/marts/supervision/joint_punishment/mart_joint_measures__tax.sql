{{ joint_measures_for('tax') }}
