//! SQL fragments for one relation level: fields with JSON paths, conditions, order terms.
//! Every request value goes through [`Params`]; every identifier through [`sql::push_ident`];
//! operators and `IS` values come from the fixed tables below.

use crate::api_request::{
    AggregateFunction, Field, FtsOperator, IsValue, JsonOperand, JsonOperation, LogicOperator, OpExpr,
    OpQuantifier, Operation, OrderDirection, OrderNulls, QuantOperator, SimpleOperator,
};
use crate::plan::types::{AggregateField, Condition, OrderTerm, SelectField};
use crate::query::builder::{self, Level};
use crate::query::sql::{self, Params};

/// `qualifier."col"->$1::text->>$2::integer`; `to_jsonb(...)` first for non-JSON columns.
pub fn field(out: &mut String, params: &mut Params, qualifier: &str, f: &Field, to_jsonb: bool) {
    if to_jsonb {
        out.push_str("to_jsonb(");
    }
    out.push_str(qualifier);
    out.push('.');
    sql::push_ident(out, &f.name);
    if to_jsonb {
        out.push(')');
    }
    for op in &f.json_path {
        let (arrow, operand) = match op {
            JsonOperation::Arrow(o) => ("->", o),
            JsonOperation::DoubleArrow(o) => ("->>", o),
        };
        out.push_str(arrow);
        // Explicit casts pick the key or the index overload of `->`; an untyped parameter would
        // resolve to the text (key) overload and `->0` would look up the key "0".
        match operand {
            JsonOperand::Key(k) => {
                params.push(out, k.as_str());
                out.push_str("::text");
            }
            JsonOperand::Idx(i) => {
                params.push(out, i.as_str());
                out.push_str("::integer");
            }
        }
    }
}

/// One select-list entry.
pub fn select_field(out: &mut String, params: &mut Params, qualifier: &str, item: &SelectField) {
    match item {
        SelectField::Star => {
            out.push_str(qualifier);
            out.push_str(".*");
        }
        SelectField::Column {
            field: f,
            cast,
            alias,
            needs_to_jsonb,
        } => {
            if let Some(cast) = cast {
                out.push_str("CAST(");
                field(out, params, qualifier, f, *needs_to_jsonb);
                out.push_str(" AS ");
                out.push_str(cast);
                out.push(')');
            } else {
                field(out, params, qualifier, f, *needs_to_jsonb);
            }
            if let Some(alias) = alias {
                out.push_str(" AS ");
                sql::push_ident(out, alias);
            }
        }
        SelectField::Aggregate(agg) => aggregate(out, params, qualifier, agg),
    }
}

/// `CAST(pg_catalog.sum(CAST(col AS numeric)) AS int) AS "sum"`
fn aggregate(out: &mut String, params: &mut Params, qualifier: &str, agg: &AggregateField) {
    if agg.cast.is_some() {
        out.push_str("CAST(");
    }
    out.push_str(match agg.function {
        AggregateFunction::Sum => "pg_catalog.sum(",
        AggregateFunction::Avg => "pg_catalog.avg(",
        AggregateFunction::Max => "pg_catalog.max(",
        AggregateFunction::Min => "pg_catalog.min(",
        AggregateFunction::Count => "pg_catalog.count(",
    });
    match &agg.field {
        None => out.push('*'),
        Some(f) => {
            if agg.input_cast.is_some() {
                out.push_str("CAST(");
            }
            field(out, params, qualifier, f, agg.needs_to_jsonb);
            if let Some(c) = &agg.input_cast {
                out.push_str(" AS ");
                out.push_str(c);
                out.push(')');
            }
        }
    }
    out.push(')');
    if let Some(c) = &agg.cast {
        out.push_str(" AS ");
        out.push_str(c);
        out.push(')');
    }
    out.push_str(" AS ");
    sql::push_ident(out, &agg.alias);
}

/// ` GROUP BY 1, 3`: the positions of a level's plain columns when it also has aggregates (by
/// position, because re-rendering a JSON path would bind new parameters and no longer match).
pub fn group_by(out: &mut String, select: &[SelectField]) {
    if !select.iter().any(|s| matches!(s, SelectField::Aggregate(_))) {
        return;
    }
    let mut first = true;
    for (i, item) in select.iter().enumerate() {
        if matches!(item, SelectField::Column { .. }) {
            out.push_str(if std::mem::take(&mut first) {
                " GROUP BY "
            } else {
                ", "
            });
            out.push_str(&(i + 1).to_string());
        }
    }
}

/// A condition of this level; an embed null test reads the `body` of the embed's LATERAL subquery.
pub fn condition(out: &mut String, params: &mut Params, qualifier: &str, cond: &Condition) {
    match cond {
        Condition::Filter {
            filter,
            tsvector,
            needs_to_jsonb,
        } => {
            op_expr(
                out,
                params,
                qualifier,
                &filter.field,
                *needs_to_jsonb,
                *tsvector,
                &filter.op,
            );
        }
        Condition::NullEmbed { negated, alias } => {
            sql::push_ident(out, &format!("{alias}_j"));
            out.push_str(".\"body\"");
            out.push_str(if *negated { " IS NOT NULL" } else { " IS NULL" });
        }
        Condition::Related(related) => super::embed_condition::related(out, params, qualifier, related),
        Condition::Tree {
            negated,
            op,
            children,
        } => {
            if *negated {
                out.push_str("NOT ");
            }
            out.push('(');
            if children.is_empty() {
                out.push_str(if *op == LogicOperator::And {
                    "TRUE"
                } else {
                    "FALSE"
                });
            }
            for (i, child) in children.iter().enumerate() {
                if i > 0 {
                    out.push_str(if *op == LogicOperator::And {
                        " AND "
                    } else {
                        " OR "
                    });
                }
                condition(out, params, qualifier, child);
            }
            out.push(')');
        }
    }
}

fn op_expr(
    out: &mut String,
    params: &mut Params,
    qualifier: &str,
    f: &Field,
    to_jsonb: bool,
    tsvector: bool,
    op: &OpExpr,
) {
    if op.negated {
        out.push_str("NOT ");
    }
    match &op.operation {
        Operation::Quant(q, quantifier, value) => {
            field(out, params, qualifier, f, to_jsonb);
            out.push(' ');
            out.push_str(quant_operator(*q));
            out.push(' ');
            let value = match q {
                QuantOperator::Like | QuantOperator::ILike => value.replace('*', "%"),
                _ => value.clone(),
            };
            match quantifier {
                None => params.push(out, value),
                Some(quant) => {
                    out.push_str(if *quant == OpQuantifier::Any {
                        "ANY("
                    } else {
                        "ALL("
                    });
                    params.push(out, value);
                    out.push(')');
                }
            }
        }
        Operation::Simple(s, value) => {
            field(out, params, qualifier, f, to_jsonb);
            out.push(' ');
            out.push_str(simple_operator(*s));
            out.push(' ');
            params.push(out, value.as_str());
        }
        Operation::In(values) => {
            field(out, params, qualifier, f, to_jsonb);
            out.push_str(" = ANY(");
            params.push(out, sql::array_literal(values));
            out.push(')');
        }
        Operation::Is(v) => {
            field(out, params, qualifier, f, to_jsonb);
            out.push_str(match v {
                IsValue::Null => " IS NULL",
                IsValue::NotNull => " IS NOT NULL",
                IsValue::True => " IS TRUE",
                IsValue::False => " IS FALSE",
                IsValue::Unknown => " IS UNKNOWN",
            });
        }
        Operation::IsDistinctFrom(value) => {
            field(out, params, qualifier, f, to_jsonb);
            out.push_str(" IS DISTINCT FROM ");
            params.push(out, value.as_str());
        }
        Operation::Fts(fts, config, value) => {
            // Non-tsvector columns (text, json…) are searched through to_tsvector, as PostgREST does.
            if tsvector {
                field(out, params, qualifier, f, to_jsonb);
            } else {
                out.push_str("to_tsvector(");
                if let Some(c) = config {
                    params.push(out, c.as_str());
                    out.push_str("::regconfig, ");
                }
                field(out, params, qualifier, f, to_jsonb);
                out.push(')');
            }
            out.push_str(" @@ ");
            out.push_str(match fts {
                FtsOperator::Fts => "to_tsquery(",
                FtsOperator::Plain => "plainto_tsquery(",
                FtsOperator::Phrase => "phraseto_tsquery(",
                FtsOperator::Websearch => "websearch_to_tsquery(",
            });
            if let Some(c) = config {
                params.push(out, c.as_str());
                out.push_str("::regconfig, ");
            }
            params.push(out, value.as_str());
            out.push_str("::text)");
        }
    }
}

fn quant_operator(op: QuantOperator) -> &'static str {
    match op {
        QuantOperator::Equal => "=",
        QuantOperator::GreaterThanEqual => ">=",
        QuantOperator::GreaterThan => ">",
        QuantOperator::LessThanEqual => "<=",
        QuantOperator::LessThan => "<",
        QuantOperator::Like => "LIKE",
        QuantOperator::ILike => "ILIKE",
        QuantOperator::Match => "~",
        QuantOperator::IMatch => "~*",
    }
}

fn simple_operator(op: SimpleOperator) -> &'static str {
    match op {
        SimpleOperator::NotEqual => "<>",
        SimpleOperator::Contains => "@>",
        SimpleOperator::Contained => "<@",
        SimpleOperator::Overlap => "&&",
        SimpleOperator::StrictlyLeft => "<<",
        SimpleOperator::StrictlyRight => ">>",
        SimpleOperator::NotExtendsRight => "&<",
        SimpleOperator::NotExtendsLeft => "&>",
        SimpleOperator::Adjacent => "-|-",
    }
}

/// `expr [ASC|DESC] [NULLS FIRST|LAST]`; a related order is a correlated lookup of the to-one row.
pub fn order_term(out: &mut String, params: &mut Params, level: &Level<'_>, term: &OrderTerm) {
    match &term.relation {
        None => field(out, params, level.qualifier, &term.field, term.needs_to_jsonb),
        Some(related) => {
            let alias = sql::ident(&related.alias);
            out.push_str("(SELECT ");
            field(out, params, &alias, &term.field, term.needs_to_jsonb);
            out.push_str(" FROM ");
            builder::source(out, &related.rel, &related.from, level.row);
            out.push_str(" AS ");
            out.push_str(&alias);
            if let Some(join) = builder::join_condition(&related.rel, &related.alias, level.qualifier) {
                out.push_str(" WHERE ");
                out.push_str(&join);
            }
            out.push(')');
        }
    }
    match term.direction {
        Some(OrderDirection::Asc) => out.push_str(" ASC"),
        Some(OrderDirection::Desc) => out.push_str(" DESC"),
        None => {}
    }
    match term.nulls {
        Some(OrderNulls::First) => out.push_str(" NULLS FIRST"),
        Some(OrderNulls::Last) => out.push_str(" NULLS LAST"),
        None => {}
    }
}
