//! Coordinate-descent Lasso with box constraints and a certified duality gap [eq9].
