{{ joint_measures_for('market_regulation') }}
