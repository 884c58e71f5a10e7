-- One row per serious illegal and dishonest list decision of market regulation (grain: serious_dishonest_event_id,
-- the decision's event_id in fct_credit_event), latest version, with its publicity window: macro
-- published_list_events.
{{ published_list_events('int_serious_dishonest__resolved', 'samr_serious_dishonest', 'serious_dishonest_', 'serious_dishonest_event_id') }}
