{{ joint_measures_for('housing_construction') }}
