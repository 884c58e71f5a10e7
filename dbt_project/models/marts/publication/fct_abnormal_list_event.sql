-- One row per abnormal list decision of market regulation (grain: abnormal_list_event_id, the decision's event_id in
-- fct_credit_event), latest version, with its publicity window: macro published_list_events.
{{ published_list_events('int_abnormal_list__resolved', 'samr_abnormal_list', 'abnormal_list_', 'abnormal_list_event_id') }}
