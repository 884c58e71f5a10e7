{{ joint_measures_for('court') }}
