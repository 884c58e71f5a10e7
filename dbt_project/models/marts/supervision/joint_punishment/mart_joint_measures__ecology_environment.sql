{{ joint_measures_for('ecology_environment') }}
